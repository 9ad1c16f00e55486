// What a stage process needs from the engine (its name, params, deps, outs, metrics path),
// read from the PIPELINE_* environment, or from pipeline.yaml when started by hand.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { readParamKeys, type ParamValues } from './params.ts';

export interface StageContext {
  /** The stage name as in pipeline.yaml. */
  stage: string;
  /** Absolute path of the project root (the folder of pipeline.yaml). */
  root: string;
  /** Param file (project-relative) -> the listed keys' values, nested as in the file. */
  params: Record<string, ParamValues>;
  /** Project-relative dep paths. */
  deps: string[];
  /** Project-relative out paths (persist or not). */
  outs: string[];
  /** Project-relative metrics file, or `undefined` when the stage declares none. */
  metrics: string | undefined;
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
}

type ContextFields = Omit<StageContext, 'abs' | 'fingerprint' | 'codeFingerprint' | 'force'>;

/**
 * Reads the context the engine passes (contracts.md "Engine → stage"). Without
 * PIPELINE_PARAMS (a stage started by hand, e.g. `node --import tsx stages/train.ts`), it
 * finds pipeline.yaml upward from the cwd and reads the entry of `stageName` (default:
 * PIPELINE_STAGE, else the script's file name without extension) and its param files.
 */
export function readStageContext(stageName?: string, env: NodeJS.ProcessEnv = process.env): StageContext {
  const stage = stageName ?? env['PIPELINE_STAGE'] ?? basename(process.argv[1] ?? '').replace(/\.[cm]?[tj]s$/, '');
  if (env['PIPELINE_PARAMS'] !== undefined && env['PIPELINE_ROOT'] !== undefined) {
    const root = env['PIPELINE_ROOT'];
    return withAbs({
      stage,
      root,
      params: JSON.parse(env['PIPELINE_PARAMS']) as Record<string, ParamValues>,
      deps: JSON.parse(env['PIPELINE_DEPS'] ?? '[]') as string[],
      outs: JSON.parse(env['PIPELINE_OUTS'] ?? '[]') as string[],
      metrics: env['PIPELINE_METRICS'] ? env['PIPELINE_METRICS'] : undefined,
    }, env);
  }
  return withAbs(contextFromPipelineFile(stage, env['PIPELINE_ROOT'] ?? findProjectRoot(process.cwd())), env);
}

/** Walks up from `dir` to the first folder holding pipeline.yaml. */
export function findProjectRoot(dir: string): string {
  for (let cur = resolve(dir); ; cur = dirname(cur)) {
    if (existsSync(join(cur, 'pipeline.yaml'))) return cur;
    if (dirname(cur) === cur) throw new Error(`no pipeline.yaml found in ${dir} or any parent folder`);
  }
}

/** Out entries are a path or `{path, persist}`. */
function outPath(out: unknown): string {
  return typeof out === 'string' ? out : String((out as { path: unknown }).path);
}

function contextFromPipelineFile(stage: string, root: string): ContextFields {
  const file = join(root, 'pipeline.yaml');
  const doc = parseYaml(readFileSync(file, 'utf8')) as { stages?: Record<string, Record<string, unknown>> };
  const entry = doc.stages?.[stage];
  if (!entry) throw new Error(`${file}: no stage named "${stage}" (pass the stage name to readStageContext)`);
  const params: Record<string, ParamValues> = {};
  const declared = (entry['params'] ?? {}) as Record<string, string[]>;
  for (const [paramFile, keys] of Object.entries(declared)) params[paramFile] = readParamKeys(join(root, paramFile), keys);
  return {
    stage,
    root,
    params,
    deps: ((entry['deps'] ?? []) as unknown[]).map(String),
    outs: ((entry['outs'] ?? []) as unknown[]).map(outPath),
    metrics: typeof entry['metrics'] === 'string' ? entry['metrics'] : undefined,
  };
}

function withAbs(ctx: ContextFields, env: NodeJS.ProcessEnv): StageContext {
  return {
    ...ctx,
    fingerprint: env['PIPELINE_STAGE_FINGERPRINT'] || undefined,
    codeFingerprint: env['PIPELINE_CODE_FINGERPRINT'] || undefined,
    force: env['PIPELINE_FORCE'] === '1',
    abs: (path: string) => resolve(ctx.root, path),
  };
}
