// Computes what a stage is built from right now (definition, deps, params, code) and what
// it produced (outs), in the shape pipeline.lock stores.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { codeFiles } from './code-deps.ts';
import type { StageFingerprint } from './lock-file.ts';
import { readParamKeys, valueAt } from './params.ts';
import type { PathHasher } from './path-hasher.ts';
import { writtenPaths, type StageDecl } from './pipeline-config.ts';
import type { Hash } from './stat-cache.ts';
import { sortKeys } from './lock-file.ts';

export type StageInputs = Omit<StageFingerprint, 'outs'>;

/** Hash of the parts of a stage's entry that change what it produces (not its gates). */
export function definitionHash(stage: StageDecl): Hash {
  const def = {
    run: stage.run ?? null,
    cmd: stage.cmd ?? null,
    deps: stage.deps.map((d) => d.path),
    outs: stage.outs.map((o) => ({ path: o.path, persist: o.persist })),
    params: stage.params.map((p) => ({ file: p.file, keys: p.keys })),
    metrics: stage.metrics?.path ?? null,
    // `code:` entries are not here: adding one is reported as that code path changing.
  };
  return createHash('sha256').update(JSON.stringify(def)).digest('hex') as Hash;
}

/** Listed keys' values; an unreadable param file gives one `<unreadable>` entry saying why. */
export function paramValues(root: string, stage: StageDecl): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const p of stage.params) {
    let doc: Record<string, unknown>;
    try {
      const picked = readParamKeys(join(root, p.file), p.keys);
      doc = Object.fromEntries(p.keys.map((k) => [k, sortKeys(valueAt(picked, k) ?? null)]));
    } catch (err) {
      doc = { '<unreadable>': (err as Error).message.split('\n')[0] };
    }
    out[p.file] = doc;
  }
  return out;
}

export async function stageInputs(root: string, stage: StageDecl, hasher: PathHasher): Promise<StageInputs> {
  const code = codeFiles(root, ...(stage.run ? [stage.run] : []), ...stage.code.map((c) => c.path));
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
