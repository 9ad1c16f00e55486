// The checked model of pipeline.yaml: parse with source ranges, validate against the JSON
// Schema, then the rules a schema cannot say (paths inside the project, one owner per out).
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ErrorObject } from 'ajv';
import { isMap, isScalar, isSeq, type Node as YamlNode } from 'yaml';
import { parseConfig } from '../config/load-config.ts';
import type { Diagnostic, Location, Result } from './diagnostic.ts';

export interface PathRef {
  /** Normalised project-relative path, `/`-separated, no trailing slash. */
  path: string;
  location: Location;
}

/** A dep or out: a path, and the role by which the stage asks for it (stage-context.ts). */
export interface RoleRef extends PathRef {
  /** `role:` as written, else the path's file name without extension (`artifacts/model` -> `model`). */
  role: string;
}

/** The role a path gets when pipeline.yaml names none. */
export function defaultRole(path: string): string {
  return basename(path).replace(/\.[^.]*$/, '');
}

export interface OutDecl extends RoleRef {
  /** Left in place for the stage to update incrementally instead of being moved aside. */
  persist: boolean;
}

export interface ParamDecl {
  file: string;
  keys: string[];
  /** Where the file name is written in pipeline.yaml. */
  location: Location;
  /** Where each of `keys` is written, in the same order. */
  keyLocations: Location[];
}

export type GateOp = '>=' | '<=' | '==' | '>' | '<';

export interface GateDecl {
  metric: string;
  op: GateOp;
  target: number;
  /** The text as written, e.g. ">= 0.90". */
  text: string;
  /** Where the gate's metric name is written (CI annotations point at this line). */
  location: Location;
}

export interface StageDecl {
  name: string;
  /** Where the stage's name is written, for diagnostics about the whole stage. */
  location: Location;
  run?: string;
  cmd?: string;
  deps: RoleRef[];
  /** `code:`: files the stage runs that no scanner can see (hashed as code, like its imports). */
  code: PathRef[];
  params: ParamDecl[];
  /** `env:`: environment variables whose values count as inputs (absent: none). */
  env?: string[];
  outs: OutDecl[];
  metrics?: PathRef;
  gates: GateDecl[];
  /** `cache: false`: never restored from nor stored in the run cache (a stage with side effects). */
  cache: boolean;
  /** `executor: {slurm: …}`: run as a Slurm batch job; absent (or `local`): run here. */
  executor?: { slurm: SlurmOptions };
}

/** sbatch options of a stage (pipeline.schema.json's `slurm`); absent ones are the cluster's defaults. */
export interface SlurmOptions {
  partition?: string;
  gpus?: number | string;
  cpus?: number;
  mem?: number | string;
  time?: number | string;
  account?: string;
  extraArgs: string[];
}

export interface Pipeline {
  /** Absolute path of pipeline.yaml. */
  file: string;
  /** Absolute path of the project root (the folder of pipeline.yaml). */
  root: string;
  /** In declaration order. */
  stages: StageDecl[];
}

const SCHEMA = fileURLToPath(new URL('../../schemas/pipeline.schema.json', import.meta.url));

/** Reads and checks pipeline.yaml at `file` (absolute or relative to the cwd). */
export function loadPipeline(file: string): Result<Pipeline> {
  const abs = resolve(file);
  let source: string;
  try {
    source = readFileSync(abs, 'utf8');
  } catch (err) {
    return { ok: false, error: [{ message: `cannot read ${file}: ${(err as Error).message}` }] };
  }
  return parsePipeline(source, abs, file);
}

/** Parses pipeline text; `displayName` is how the file is named in diagnostics. */
export function parsePipeline(source: string, absFile: string, displayName: string): Result<Pipeline> {
  const parsed = parseConfig(source, displayName, { schema: SCHEMA, describe: pipelineMessage });
  if (!parsed.ok) return parsed;
  const { doc, locate } = parsed.value;
  const nodeLoc = (node: YamlNode | null | undefined): Location =>
    node?.range ? { file: displayName, source, start: node.range[0], end: node.range[1] } : locate([]);

  const root = dirname(absFile);
  const errors: Diagnostic[] = [];
  const stagesNode = doc.get('stages', true);
  const stages: StageDecl[] = [];
  if (!isMap(stagesNode)) return { ok: false, error: [{ message: 'stages: must be a map', location: nodeLoc(stagesNode as YamlNode) }] };

  const pathRef = (node: unknown, what: string): PathRef | undefined => {
    const n = node as YamlNode;
    const raw = String(isScalar(n) ? n.value : '');
    const location = nodeLoc(n);
    const norm = normalize(raw).replace(/\\/g, '/').replace(/\/+$/, '');
    if (isAbsolute(raw) || norm === '..' || norm.startsWith('../')) {
      errors.push({ message: `${what} "${raw}" is outside the project (${root})`, location });
      return undefined;
    }
    if (norm === '.' || norm === '') {
      errors.push({ message: `${what} "${raw}" is the whole project; name a file or folder inside it`, location });
      return undefined;
    }
    return { path: norm, location };
  };

  for (const pair of stagesNode.items) {
    const keyNode = pair.key as YamlNode;
    const name = String(isScalar(keyNode) ? keyNode.value : '');
    const body = pair.value;
    if (!isMap(body)) continue;
    const get = (key: string): unknown => body.get(key, true);
    const stage: StageDecl = { name, location: nodeLoc(keyNode), deps: [], code: [], params: [], outs: [], gates: [], cache: body.get('cache') !== false };
    const run = get('run');
    if (isScalar(run)) stage.run = String(run.value);
    const cmd = get('cmd');
    if (isScalar(cmd)) stage.cmd = String(cmd.value);
    // A dep or out is a path, or {path, role} (outs: also persist).
    const roleRef = (item: unknown, what: string): RoleRef | undefined => {
      const ref = pathRef(isMap(item) ? item.get('path', true) : item, what);
      const role = isMap(item) ? item.get('role') : undefined;
      return ref && { ...ref, role: typeof role === 'string' ? role : defaultRole(ref.path) };
    };
    const deps = get('deps');
    if (isSeq(deps)) for (const item of deps.items) push(stage.deps, roleRef(item, `dep of stage "${name}"`));
    const code = get('code');
    if (isSeq(code)) {
      for (const item of code.items) {
        const ref = pathRef(item, `code file of stage "${name}"`);
        if (ref && !existsSync(resolve(root, ref.path))) errors.push({ message: `code file of stage "${name}" "${ref.path}" does not exist`, location: ref.location });
        else push(stage.code, ref);
      }
    }
    const outs = get('outs');
    if (isSeq(outs)) {
      for (const item of outs.items) {
        const ref = roleRef(item, `out of stage "${name}"`);
        if (ref) stage.outs.push({ ...ref, persist: isMap(item) && item.get('persist') === true });
      }
    }
    errors.push(...duplicateRoles(name, 'dep', stage.deps), ...duplicateRoles(name, 'out', stage.outs));
    const params = get('params');
    if (isMap(params)) {
      for (const p of params.items) {
        const ref = pathRef(p.key, `param file of stage "${name}"`);
        const keyNodes = isSeq(p.value) ? p.value.items : [];
        const keys = keyNodes.map((k) => String(isScalar(k) ? k.value : ''));
        if (ref) stage.params.push({ file: ref.path, keys, location: ref.location, keyLocations: keyNodes.map((k) => nodeLoc(k as YamlNode)) });
      }
    }
    const env = get('env');
    if (isSeq(env) && env.items.length > 0) stage.env = env.items.map((v) => String(isScalar(v) ? v.value : ''));
    const executor = get('executor');
    if (isMap(executor)) stage.executor = { slurm: slurmOptions(executor.toJS(doc) as { slurm: Record<string, unknown> }) };
    const metrics = get('metrics');
    if (metrics) stage.metrics = pathRef(metrics, `metrics file of stage "${name}"`);
    const gates = get('gates');
    if (isMap(gates)) {
      for (const g of gates.items) {
        const text = String(isScalar(g.value) ? g.value.value : '').trim();
        const m = /^(>=|<=|==|>|<)\s*(\S+)$/.exec(text);
        if (m) stage.gates.push({ metric: String(isScalar(g.key) ? g.key.value : ''), op: m[1] as GateOp, target: Number(m[2]), text, location: nodeLoc(g.key as YamlNode) });
      }
      if (stage.gates.length > 0 && !stage.metrics) {
        errors.push({ message: `stage "${name}" has gates: but no metrics: file for them to read`, location: nodeLoc(gates) });
      }
    }
    stages.push(stage);
  }

  errors.push(...overlappingOuts(stages));
  if (errors.length > 0) return { ok: false, error: errors };
  return { ok: true, value: { file: absFile, root, stages } };
}

/** The schema has checked the shapes; this only renames `extra_args`. */
function slurmOptions({ slurm }: { slurm: Record<string, unknown> }): SlurmOptions {
  const { extra_args: extraArgs, ...rest } = slurm;
  return { ...(rest as Omit<SlurmOptions, 'extraArgs'>), extraArgs: (extraArgs as string[] | undefined) ?? [] };
}

/** Two deps (or two outs) of one stage answering to the same role. */
function duplicateRoles(stage: string, what: string, refs: RoleRef[]): Diagnostic[] {
  const errors: Diagnostic[] = [];
  refs.forEach((ref, i) => {
    const first = refs.slice(0, i).find((r) => r.role === ref.role);
    if (first) {
      errors.push({
        message: `stage "${stage}" has two ${what}s with the role "${ref.role}"; give one a role: of its own ({path: ${ref.path}, role: NAME})`,
        location: ref.location,
        supplemental: [{ message: `"${first.path}" has the role "${ref.role}" here`, location: first.location }],
      });
    }
  });
  return errors;
}

function push<T>(list: T[], item: T | undefined): void {
  if (item !== undefined) list.push(item);
}

/** True when `a` and `b` name the same path or one lies inside the other. */
export function pathsOverlap(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

/** Every path a stage writes: its outs and its metrics file. */
export function writtenPaths(stage: StageDecl): PathRef[] {
  return stage.metrics ? [...stage.outs, stage.metrics] : [...stage.outs];
}

/** Every path the pipeline names: each stage's deps, code, params files, outs and metrics. */
export function declaredPaths(pipeline: Pipeline): string[] {
  const paths = new Set<string>();
  for (const stage of pipeline.stages) {
    for (const ref of [...stage.deps, ...stage.code, ...writtenPaths(stage)]) paths.add(ref.path);
    for (const param of stage.params) paths.add(param.file);
  }
  return [...paths];
}

/** Two stages (or one stage twice) claiming the same or nested outputs. */
function overlappingOuts(stages: StageDecl[]): Diagnostic[] {
  const claimed: { stage: string; ref: PathRef }[] = [];
  const errors: Diagnostic[] = [];
  for (const stage of stages) {
    for (const ref of writtenPaths(stage)) {
      const other = claimed.find((c) => pathsOverlap(c.ref.path, ref.path));
      if (other) {
        errors.push({
          message: `stage "${stage.name}" writes "${ref.path}", which overlaps "${other.ref.path}" written by stage "${other.stage}"`,
          location: ref.location,
          supplemental: [{ message: `"${other.ref.path}" is claimed here by stage "${other.stage}"`, location: other.ref.location }],
        });
      } else {
        claimed.push({ stage: stage.name, ref });
      }
    }
  }
  return errors;
}

/** The pipeline's own wording for some schema errors (the rest get the generic one). */
function pipelineMessage(err: ErrorObject, path: string[]): string | undefined {
  if ((err.keyword === 'oneOf' || err.keyword === 'required') && path.length === 2 && path[0] === 'stages') {
    return `stage "${path[1]}" needs exactly one of run: or cmd:`;
  }
  if (path[2] === 'executor' && path.length === 3) {
    return `executor of stage "${path[1]}" must be local or {slurm: {partition, gpus, cpus, mem, time, account, extra_args}}`;
  }
  if (path[3] === 'slurm' && path.length === 5 && err.keyword !== 'minimum') {
    // oneOf's "must be integer" would mislead for a string: say what the option takes.
    const schema = JSON.parse(readFileSync(SCHEMA, 'utf8')) as { definitions: { slurm: { properties: Record<string, { description: string }> } } };
    const property = schema.definitions.slurm.properties[path[4]!];
    return `slurm ${path[4]} ${JSON.stringify(err.data)} of stage "${path[1]}" is not valid: ${property?.description ?? err.message}`;
  }
  if (err.keyword === 'pattern' && path[2] === 'gates') return `gate ${path[3]}: "${String(err.data)}" is not a comparison like ">= 0.9" (use >=, <=, ==, > or <)`;
  if (path[2] === 'env' && path.length === 4) {
    return `env entry ${JSON.stringify(err.data)} of stage "${path[1]}" is not an environment variable name (letters, digits and _, not starting with a digit)`;
  }
  if (err.keyword === 'uniqueItems' && path[2] === 'env') return `env of stage "${path[1]}" lists a variable twice`;
  if (err.keyword === 'pattern' && err.propertyName) return `stage name "${err.propertyName}" may only use letters, digits, _ . -`;
  return undefined;
}
