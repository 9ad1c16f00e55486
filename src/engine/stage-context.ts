// What a stage process needs from the engine (its name, params, deps and outs by role,
// metrics path, gates), read from the PIPELINE_* environment, or from pipeline.yaml when
// started by hand. Both ways go through the same loaders as the engine (pipeline-config.ts,
// params.ts), so a stage never parses pipeline.yaml or a params file on its own.
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { formatDiagnostic, type Diagnostic } from './diagnostic.ts';
import { loadParamFile, pickKeys, type ParamValues } from './params.ts';
import { defaultRole, loadPipeline, type GateDecl, type StageDecl } from './pipeline-config.ts';

/** A gate as the stage sees it (e.g. for a report's targets). */
export type StageGate = Pick<GateDecl, 'metric' | 'op' | 'target' | 'text'>;

export interface StageContext {
  /** The stage name as in pipeline.yaml. */
  stage: string;
  /** Absolute path of the project root (the folder of pipeline.yaml). */
  root: string;
  /** Param file (project-relative) -> the listed keys' values, nested as in the file, schema defaults filled in. */
  params: Record<string, ParamValues>;
  /** Project-relative dep paths. */
  deps: string[];
  /** Project-relative out paths (persist or not). */
  outs: string[];
  /** Role -> project-relative path, for deps and for outs (pipeline.yaml `role:`, default the file name). */
  depRoles: Record<string, string>;
  outRoles: Record<string, string>;
  /** Project-relative metrics file, or `undefined` when the stage declares none. */
  metrics: string | undefined;
  /** The gates pipeline.yaml declares on this stage. */
  gates: StageGate[];
  /**
   * PIPELINE_STAGE_FINGERPRINT: the hash of the inputs this run is for (definition, deps,
   * params, code). State kept in a `persist: true` out may be resumed only when it was made
   * for this same value; `undefined` when started by hand, and then nothing is resumed.
   */
  fingerprint: string | undefined;
  /** PIPELINE_CODE_FINGERPRINT: the hash of the stage's code alone (for content-addressed caches). */
  codeFingerprint: string | undefined;
  /** PIPELINE_FORCE=1 (`run --force`): start from scratch, resume nothing. */
  force: boolean;
  /** Absolute path of a project-relative path. */
  abs(path: string): string;
  /** Absolute path of the dep with this role; a stage without it stops with exit 2 naming pipeline.yaml. */
  dep(role: string): string;
  /** Absolute path of the dep with this role, or undefined when the stage declares none. */
  optionalDep(role: string): string | undefined;
  /** Absolute path of the out with this role; a stage without it stops with exit 2. */
  out(role: string): string;
}

type ContextData = Omit<StageContext, 'abs' | 'dep' | 'optionalDep' | 'out' | 'fingerprint' | 'codeFingerprint' | 'force'>;

/** The PIPELINE_* variables of docs/contracts.md that describe the stage's declaration. */
export function stageDeclEnv(stage: StageDecl): Record<string, string> {
  return {
    PIPELINE_DEPS: JSON.stringify(stage.deps.map((d) => d.path)),
    PIPELINE_OUTS: JSON.stringify(stage.outs.map((o) => o.path)),
    PIPELINE_DEP_ROLES: JSON.stringify(Object.fromEntries(stage.deps.map((d) => [d.role, d.path]))),
    PIPELINE_OUT_ROLES: JSON.stringify(Object.fromEntries(stage.outs.map((o) => [o.role, o.path]))),
    PIPELINE_GATES: JSON.stringify(stage.gates.map(({ metric, op, target, text }) => ({ metric, op, target, text }))),
    PIPELINE_METRICS: stage.metrics?.path ?? '',
  };
}

/**
 * Reads the context the engine passes (contracts.md "Engine → stage"). Without
 * PIPELINE_PARAMS (a stage started by hand, e.g. `node --import tsx stages/train.ts`), it
 * loads pipeline.yaml upward from the cwd and reads the entry of `stageName` (default:
 * PIPELINE_STAGE, else the script's file name without extension) and its param files; a
 * config error there is printed at file:line:col and the process exits 2.
 */
export function readStageContext(stageName?: string, env: NodeJS.ProcessEnv = process.env): StageContext {
  const stage = stageName ?? env['PIPELINE_STAGE'] ?? basename(process.argv[1] ?? '').replace(/\.[cm]?[tj]s$/, '');
  if (env['PIPELINE_PARAMS'] !== undefined && env['PIPELINE_ROOT'] !== undefined) {
    const deps = JSON.parse(env['PIPELINE_DEPS'] ?? '[]') as string[];
    const outs = JSON.parse(env['PIPELINE_OUTS'] ?? '[]') as string[];
    // Without the role variables (a test or an older runner), each path has its default role.
    const roles = (name: string, paths: string[]): Record<string, string> =>
      env[name] ? (JSON.parse(env[name]) as Record<string, string>) : Object.fromEntries(paths.map((p) => [defaultRole(p), p]));
    return withHelpers({
      stage,
      root: env['PIPELINE_ROOT'],
      params: JSON.parse(env['PIPELINE_PARAMS']) as Record<string, ParamValues>,
      deps,
      outs,
      depRoles: roles('PIPELINE_DEP_ROLES', deps),
      outRoles: roles('PIPELINE_OUT_ROLES', outs),
      metrics: env['PIPELINE_METRICS'] ? env['PIPELINE_METRICS'] : undefined,
      gates: JSON.parse(env['PIPELINE_GATES'] ?? '[]') as StageGate[],
    }, env);
  }
  let root: string;
  try {
    root = env['PIPELINE_ROOT'] ?? findProjectRoot(process.cwd());
  } catch (err) {
    return stop(stage, [{ message: (err as Error).message }]);
  }
  return withHelpers(contextFromPipelineFile(stage, root), env);
}

/** Walks up from `dir` to the first folder holding pipeline.yaml. */
export function findProjectRoot(dir: string): string {
  for (let cur = resolve(dir); ; cur = dirname(cur)) {
    if (existsSync(join(cur, 'pipeline.yaml'))) return cur;
    if (dirname(cur) === cur) throw new Error(`no pipeline.yaml found in ${dir} or any parent folder`);
  }
}

function contextFromPipelineFile(stage: string, root: string): ContextData {
  const pipeline = loadPipeline(join(root, 'pipeline.yaml'));
  if (!pipeline.ok) return stop(stage, pipeline.error);
  const decl = pipeline.value.stages.find((s) => s.name === stage);
  if (!decl) return stop(stage, [{ message: `${join(root, 'pipeline.yaml')}: no stage named "${stage}" (pass the stage name to readStageContext)` }]);
  const params: Record<string, ParamValues> = {};
  const problems: Diagnostic[] = [];
  for (const p of decl.params) {
    const loaded = loadParamFile(root, p.file);
    if (loaded.ok) params[p.file] = pickKeys(loaded.value.data, p.keys);
    else problems.push(...loaded.error);
  }
  if (problems.length > 0) return stop(stage, problems);
  const env = stageDeclEnv(decl);
  return {
    stage,
    root,
    params,
    deps: decl.deps.map((d) => d.path),
    outs: decl.outs.map((o) => o.path),
    depRoles: JSON.parse(env['PIPELINE_DEP_ROLES']!) as Record<string, string>,
    outRoles: JSON.parse(env['PIPELINE_OUT_ROLES']!) as Record<string, string>,
    metrics: decl.metrics?.path,
    gates: JSON.parse(env['PIPELINE_GATES']!) as StageGate[],
  };
}

/** A stage whose declaration or config is wrong cannot start: say where, exit 2 (bad config). */
function stop(stage: string, problems: Diagnostic[]): never {
  for (const d of problems) console.error(`${stage}: ${formatDiagnostic(d)}`);
  process.exit(2);
}

function withHelpers(ctx: ContextData, env: NodeJS.ProcessEnv): StageContext {
  const abs = (path: string): string => resolve(ctx.root, path);
  const lookup = (what: 'dep' | 'out', roles: Record<string, string>, role: string): string => {
    const path = roles[role];
    if (path !== undefined) return abs(path);
    const known = Object.entries(roles).map(([r, p]) => `${r} (${p})`).join(', ') || 'none';
    return stop(ctx.stage, [{ message: `stage "${ctx.stage}" needs a ${what} with the role "${role}" in pipeline.yaml (its ${what}s: ${known}); add it, or mark one {path: …, role: ${role}}` }]);
  };
  return {
    ...ctx,
    fingerprint: env['PIPELINE_STAGE_FINGERPRINT'] || undefined,
    codeFingerprint: env['PIPELINE_CODE_FINGERPRINT'] || undefined,
    force: env['PIPELINE_FORCE'] === '1',
    abs,
    dep: (role) => lookup('dep', ctx.depRoles, role),
    optionalDep: (role) => (ctx.depRoles[role] === undefined ? undefined : abs(ctx.depRoles[role])),
    out: (role) => lookup('out', ctx.outRoles, role),
  };
}
