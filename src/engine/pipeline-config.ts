// The checked model of pipeline.yaml: parse with source ranges, validate against the JSON
// Schema, then the rules a schema cannot say (paths inside the project, one owner per out).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, normalize, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { Diagnostic, Location, Result } from './diagnostic.ts';

export interface PathRef {
  /** Normalised project-relative path, `/`-separated, no trailing slash. */
  path: string;
  location: Location;
}

export interface OutDecl extends PathRef {
  /** Left in place for the stage to update incrementally instead of being moved aside. */
  persist: boolean;
}

export interface ParamDecl {
  file: string;
  keys: string[];
  location: Location;
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
  deps: PathRef[];
  /** `code:`: files the stage runs that no scanner can see (hashed as code, like its imports). */
  code: PathRef[];
  params: ParamDecl[];
  outs: OutDecl[];
  metrics?: PathRef;
  gates: GateDecl[];
}

export interface Pipeline {
  /** Absolute path of pipeline.yaml. */
  file: string;
  /** Absolute path of the project root (the folder of pipeline.yaml). */
  root: string;
  /** In declaration order. */
  stages: StageDecl[];
}

const require = createRequire(import.meta.url);
const schema = require('../../schemas/pipeline.schema.json') as object;
const validateSchema = new Ajv({ allErrors: true, strict: false }).compile(schema);

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
  const at = (start: number, end: number): Location => ({ file: displayName, source, start, end });
  const nodeLoc = (node: YamlNode | null | undefined): Location =>
    node?.range ? at(node.range[0], node.range[1]) : at(0, 0);

  const doc = parseDocument(source, { lineCounter: new LineCounter(), uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      error: doc.errors.map((e) => ({ message: `YAML syntax: ${e.message.split('\n')[0]}`, location: at(e.pos[0], e.pos[1]) })),
    };
  }
  const duplicates = findDuplicateKeys(doc, nodeLoc);
  if (duplicates.length > 0) return { ok: false, error: duplicates };

  const data: unknown = doc.toJS();
  if (!validateSchema(data)) {
    return { ok: false, error: schemaDiagnostics(validateSchema.errors ?? [], doc, nodeLoc, at) };
  }

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
    const stage: StageDecl = { name, location: nodeLoc(keyNode), deps: [], code: [], params: [], outs: [], gates: [] };
    const run = get('run');
    if (isScalar(run)) stage.run = String(run.value);
    const cmd = get('cmd');
    if (isScalar(cmd)) stage.cmd = String(cmd.value);
    const deps = get('deps');
    if (isSeq(deps)) for (const item of deps.items) push(stage.deps, pathRef(item, `dep of stage "${name}"`));
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
        if (isMap(item)) {
          const ref = pathRef(item.get('path', true), `out of stage "${name}"`);
          if (ref) stage.outs.push({ ...ref, persist: item.get('persist') === true });
        } else {
          const ref = pathRef(item, `out of stage "${name}"`);
          if (ref) stage.outs.push({ ...ref, persist: false });
        }
      }
    }
    const params = get('params');
    if (isMap(params)) {
      for (const p of params.items) {
        const ref = pathRef(p.key, `param file of stage "${name}"`);
        const keys = (isSeq(p.value) ? p.value.items : []).map((k) => String(isScalar(k) ? k.value : ''));
        if (ref) stage.params.push({ file: ref.path, keys, location: ref.location });
      }
    }
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

/** A key written twice in one map; both places are shown. */
function findDuplicateKeys(doc: Document, nodeLoc: (n: YamlNode) => Location): Diagnostic[] {
  const errors: Diagnostic[] = [];
  const visit = (node: unknown): void => {
    if (isMap(node)) {
      const seen = new Map<string, YamlNode>();
      for (const pair of node.items) {
        const key = pair.key as YamlNode;
        const name = isScalar(key) ? String(key.value) : undefined;
        if (name !== undefined) {
          const first = seen.get(name);
          if (first) {
            errors.push({
              message: `"${name}" is defined twice`,
              location: nodeLoc(key),
              supplemental: [{ message: `first definition of "${name}"`, location: nodeLoc(first) }],
            });
          } else {
            seen.set(name, key);
          }
        }
        visit(pair.value);
      }
    } else if (isSeq(node)) {
      node.items.forEach(visit);
    }
  };
  visit(doc.contents);
  return errors;
}

/** Maps ajv errors to the YAML nodes they are about, one readable diagnostic per place. */
function schemaDiagnostics(
  errors: ErrorObject[],
  doc: Document,
  nodeLoc: (n: YamlNode) => Location,
  at: (s: number, e: number) => Location,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  // Errors inside oneOf branches repeat the same complaint in several shapes; the
  // specific ones (unknown key, wrong type) come first and win per place.
  const rank = (e: ErrorObject): number => (e.keyword === 'additionalProperties' ? 0 : e.keyword === 'oneOf' ? 2 : 1);
  for (const err of [...errors].sort((a, b) => rank(a) - rank(b))) {
    const path = err.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const where = path.join('.') || '(top level)';
    const node = doc.getIn(path, true) as YamlNode | undefined;
    let location = node ? nodeLoc(node) : at(0, 0);
    let message: string;
    if (err.keyword === 'additionalProperties') {
      const key = (err.params as { additionalProperty: string }).additionalProperty;
      const parent = doc.getIn(path, true);
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
        if (pair) location = nodeLoc(pair.key as YamlNode);
      }
      message = `unknown key "${key}" in ${where}`;
    } else if ((err.keyword === 'oneOf' || err.keyword === 'required') && path.length === 2 && path[0] === 'stages') {
      message = `stage "${path[1]}" needs exactly one of run: or cmd:`;
      const parent = doc.getIn(['stages'], true);
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === path[1]);
        if (pair) location = nodeLoc(pair.key as YamlNode);
      }
    } else if (err.keyword === 'pattern' && path[2] === 'gates') {
      message = `gate ${path[3]}: "${String(doc.getIn(path))}" is not a comparison like ">= 0.9" (use >=, <=, ==, > or <)`;
    } else if (err.keyword === 'pattern' && err.propertyName) {
      message = `stage name "${err.propertyName}" may only use letters, digits, _ . -`;
    } else {
      message = `${where}: ${err.message ?? err.keyword}`;
    }
    const key = `${location.start}:${location.end}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ message, location });
  }
  return out;
}
