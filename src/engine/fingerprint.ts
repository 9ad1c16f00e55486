// Computes what a stage is built from right now (definition, deps, params, code) and what
// it produced (outs), in the shape pipeline.lock stores.
import { createHash } from 'node:crypto';
import { codeFiles } from './code-deps.ts';
import type { StageFingerprint } from './lock-file.ts';
import { formatDiagnostic } from './diagnostic.ts';
import { loadParamFile, valueAt } from './params.ts';
import type { PathHasher } from './path-hasher.ts';
import { defaultRole, writtenPaths, type StageDecl } from './pipeline-config.ts';
import type { Hash } from './stat-cache.ts';
import { sortKeys } from './lock-file.ts';

export type StageInputs = Omit<StageFingerprint, 'outs'>;

/** Hash of the parts of a stage's entry that change what it produces (not its gates). */
export function definitionHash(stage: StageDecl): Hash {
  const def = {
    run: stage.run ?? null,
    cmd: stage.cmd ?? null,
    // A role changes which input the stage reads as what; a default role says nothing new.
    deps: stage.deps.map((d) => (d.role === defaultRole(d.path) ? d.path : { path: d.path, role: d.role })),
    outs: stage.outs.map((o) => ({ path: o.path, persist: o.persist, ...(o.role === defaultRole(o.path) ? {} : { role: o.role }) })),
    params: stage.params.map((p) => ({ file: p.file, keys: p.keys })),
    metrics: stage.metrics?.path ?? null,
    // Only when declared, so a stage without `env:` keeps the hash it had before the key existed.
    ...(stage.env ? { env: stage.env } : {}),
    // `code:` entries are not here: adding one is reported as that code path changing.
  };
  return createHash('sha256').update(JSON.stringify(def)).digest('hex') as Hash;
}

/**
 * Listed keys' values, the schema's defaults filled in; a file that does not load gives one
 * `<invalid>` entry with the first problem at file:line:col (`run` stops on it before any stage).
 */
export function paramValues(root: string, stage: StageDecl): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const p of stage.params) {
    const loaded = loadParamFile(root, p.file);
    out[p.file] = loaded.ok
      ? Object.fromEntries(p.keys.map((k) => [k, sortKeys(valueAt(loaded.value.data, k) ?? null)]))
      : { '<invalid>': formatDiagnostic(loaded.error[0]!).split('\n')[0]! };
  }
  return out;
}

/** The stage's `env:` variables as it runs with `env` (unset: ""); undefined when it declares none. */
export function envValues(stage: StageDecl, env: Readonly<Record<string, string | undefined>>): Record<string, string> | undefined {
  return stage.env && Object.fromEntries(stage.env.map((name) => [name, env[name] ?? '']));
}

/** `env` is the stage's effective environment: the run's own (RunOptions.env) over process.env. */
export async function stageInputs(
  root: string,
  stage: StageDecl,
  hasher: PathHasher,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<StageInputs> {
  const code = codeFiles(root, ...(stage.run ? [stage.run] : []), ...stage.code.map((c) => c.path));
  const hashes = await hasher.hashMany([...stage.deps.map((d) => d.path), ...code]);
  return {
    definition: definitionHash(stage),
    deps: Object.fromEntries(stage.deps.map((d) => [d.path, hashes.get(d.path)!])),
    params: paramValues(root, stage),
    code: Object.fromEntries(code.map((c) => [c, hashes.get(c)!])),
    ...(stage.env ? { env: envValues(stage, env) } : {}),
  };
}

/** sha256 of a value as JSON with keys sorted at every depth, so equal values hash equally. */
function hashValue(value: unknown): Hash {
  return createHash('sha256').update(JSON.stringify(sortKeys(value))).digest('hex') as Hash;
}

/**
 * One hash of everything the lock records a stage was built from (definition, deps, params,
 * code, env values when the stage declares `env:`): state a stage keeps in a `persist: true` out is valid only for this value.
 */
export function inputsFingerprint(inputs: StageInputs): Hash {
  const { definition, deps, params, code, env } = inputs;
  return hashValue({ definition, deps, params, code, ...(env ? { env } : {}) });
}

/**
 * Hash of the stage's code alone, for a content-addressed cache (augment-cache's blobs)
 * whose keys name the data and params but must change when the code that fills it does.
 */
export function codeFingerprint(inputs: StageInputs): Hash {
  return hashValue(inputs.code);
}

/** The variables that tell a stage which inputs it runs for (docs/contracts.md). */
export function fingerprintEnv(inputs: StageInputs, forced: boolean): Record<string, string> {
  return {
    PIPELINE_STAGE_FINGERPRINT: inputsFingerprint(inputs),
    PIPELINE_CODE_FINGERPRINT: codeFingerprint(inputs),
    PIPELINE_FORCE: forced ? '1' : '0',
  };
}

export async function stageOuts(stage: StageDecl, hasher: PathHasher): Promise<Record<string, Hash | null>> {
  const paths = writtenPaths(stage).map((o) => o.path);
  const hashes = await hasher.hashMany(paths);
  return Object.fromEntries(paths.map((p) => [p, hashes.get(p)!]));
}
