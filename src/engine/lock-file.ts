// pipeline.lock: what each stage was last built from (DVC's dvc.lock), plus the flat
// numeric metrics it reported, so `metrics --diff` can compare with a git revision.
import { readFileSync } from 'node:fs';
import type { Hash } from './stat-cache.ts';
import { atomicWrite } from './atomic-write.ts';
import { EngineStateError, shownPath, stateReadError } from './engine-error.ts';

export interface StageFingerprint {
  /** Hash of the stage's entry in pipeline.yaml (gates excluded: they do not change outs). */
  definition: Hash;
  /** Each dep's content hash (null: missing). */
  deps: Record<string, Hash | null>;
  /** Param file -> listed key -> value; values, not hashes, so a change names the key. */
  params: Record<string, Record<string, unknown>>;
  /** The `run:` file and its transitive relative imports -> content hash. */
  code: Record<string, Hash | null>;
  /** `env:` variable -> its value (unset: ""); absent for a stage that declares no `env:`. */
  env?: Record<string, string>;
  /** Each out's (and the metrics file's) content hash after the stage succeeded. */
  outs: Record<string, Hash | null>;
}

/** A missed gate upstream of a stage that ran anyway (`run --ignore-gates`). */
export interface IgnoredGate {
  stage: string;
  metric: string;
  target: string;
  /** null: the metric was missing or not a number. */
  value: number | null;
}

export interface LockEntry extends StageFingerprint {
  /** Flat numeric metrics reported by the stage, as gates read them. */
  metrics?: Record<string, number>;
  /** Set when the stage ran below missed gates with --ignore-gates; cleared by its next run. */
  ignoredGates?: IgnoredGate[];
  /**
   * Set by a command that undid the stage's effect outside the pipeline (`pipeline rollback`
   * for deploy): why its last run no longer holds. The stage is stale until it runs again.
   */
  invalidated?: string;
}

export interface LockData {
  version: 1;
  stages: Record<string, LockEntry>;
}

export function parseLock(text: string): LockData {
  const data = JSON.parse(text) as LockData;
  if (data?.version !== 1 || typeof data.stages !== 'object') throw new Error('not a version 1 pipeline.lock');
  return data;
}

/**
 * A missing lock is an empty one (nothing built yet); one that cannot be read or parsed is
 * an EngineStateError: treating it as empty would silently rebuild everything.
 */
export function readLock(file: string): LockData {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, stages: {} };
    throw stateReadError(file, err);
  }
  try {
    return parseLock(text);
  } catch (err) {
    throw new EngineStateError(
      `${shownPath(file)} is damaged: ${(err as Error).message}`,
      `restore it (git checkout -- ${shownPath(file)}) or delete it to rebuild every stage`,
    );
  }
}

/**
 * Marks `stage`'s last run as no longer in effect, saying why (undefined clears the mark).
 * False when the lock has no entry for it (never run: already stale).
 */
export function invalidateStage(file: string, stage: string, why: string | undefined): boolean {
  const lock = readLock(file);
  const entry = lock.stages[stage];
  if (!entry) return false;
  if (why === undefined) delete entry.invalidated;
  else entry.invalidated = why;
  writeLock(file, lock);
  return true;
}

/** Keys sorted at every level so the file diffs cleanly in git. */
export function writeLock(file: string, data: LockData): void {
  atomicWrite(file, `${JSON.stringify(sortKeys(data), null, 2)}\n`);
}

export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
