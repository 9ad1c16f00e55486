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

export async function stageInputs(root: string, stage: StageDecl, hasher: PathHasher): Promise<StageInputs> {
  const code = stage.run ? codeFiles(root, stage.run) : [];
  const hashes = await hasher.hashMany([...stage.deps.map((d) => d.path), ...code]);
  return {
    definition: definitionHash(stage),
    deps: Object.fromEntries(stage.deps.map((d) => [d.path, hashes.get(d.path)!])),
    params: paramValues(root, stage),
    code: Object.fromEntries(code.map((c) => [c, hashes.get(c)!])),
  };
}

export async function stageOuts(stage: StageDecl, hasher: PathHasher): Promise<Record<string, Hash | null>> {
  const paths = writtenPaths(stage).map((o) => o.path);
  const hashes = await hasher.hashMany(paths);
  return Object.fromEntries(paths.map((p) => [p, hashes.get(p)!]));
}
