// `pipeline push` and `pipeline pull`: move the run-cache entries pipeline.lock names
// between the local cache and the remote. Push sends only the objects the remote lacks (one
// batched has()), bounded parallel, entries last; pull fetches what the lock records into the
// local cache (hash-checked) and puts the outs in the workspace, so a fresh clone + pull +
// run runs nothing.
import { inputsFingerprint, stageOuts } from '../fingerprint.ts';
import { readLock } from '../lock-file.ts';
import type { PathHasher } from '../path-hasher.ts';
import type { StageDecl } from '../pipeline-config.ts';
import type { Project } from '../project.ts';
import type { Hash } from '../stat-cache.ts';
import { encodeEntry, entryKey, entryObjects, objectKey, type CacheEntry } from './cache-entry.ts';
import { boundedEach } from '../bounded-each.ts';
import { isRemoteUnavailable } from './remote-unavailable.ts';
import type { RunCache } from './run-cache.ts';

export interface SyncResult {
  /** Lines to print, one per stage that needs a word, and a closing total. */
  lines: string[];
  /** Stages that could not be pushed or pulled (the command exits 1). */
  failed: string[];
}

const MB = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const short = (fp: string): string => `${fp.slice(0, 12)}…`;

/** The lock's entry for each stage, with its fingerprint; stages the cache cannot hold are named in `lines`. */
function lockedStages(project: Project, stages: readonly StageDecl[], lines: string[]): { stage: StageDecl; fingerprint: string; outs: Record<string, Hash | null> }[] {
  const lock = readLock(project.lockFile);
  const out: { stage: StageDecl; fingerprint: string; outs: Record<string, Hash | null> }[] = [];
  for (const stage of stages) {
    const entry = lock.stages[stage.name];
    if (!stage.cache) lines.push(`- ${stage.name}: cache: false, skipped`);
    else if (!entry) lines.push(`- ${stage.name}: not in pipeline.lock (never run), skipped`);
    else out.push({ stage, fingerprint: inputsFingerprint(entry), outs: entry.outs });
  }
  return out;
}

const sameOuts = (a: Record<string, Hash | null>, b: Record<string, Hash | null>): boolean =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([p, h]) => h !== null && b[p] === h);

/** Pushes the entries pipeline.lock records for `stages` (and their objects) to the remote. */
export async function pushStages(project: Project, cache: RunCache, stages: readonly StageDecl[], hasher: PathHasher): Promise<SyncResult> {
  const lines: string[] = [];
  const failed: string[] = [];
  const entries: CacheEntry[] = [];
  for (const { stage, fingerprint, outs } of lockedStages(project, stages, lines)) {
    let entry = (await cache.lookup(stage.name, fingerprint, { localOnly: true }))?.entry;
    if (!entry) {
      // Built before the cache existed (or its cache was gc'd): store the outs if they are still the locked ones.
      const current = await stageOuts(stage, hasher);
      entry = sameOuts(outs, current) ? await cache.store(stage, fingerprint, current) : undefined;
      if (!entry) {
        lines.push(`x ${stage.name}: its outs are not the ones pipeline.lock records and the local cache has no copy; run it, then push`);
        failed.push(stage.name);
        continue;
      }
    }
    entries.push(entry);
  }
  const remote = (await cache.remoteStore(true))!;
  const objects = new Map<string, number>();
  for (const e of entries) for (const [sha, size] of entryObjects(e)) objects.set(sha, size);
  const present = await remote.has([...[...objects.keys()].map(objectKey), ...entries.map((e) => entryKey(e.fingerprint))]);
  const missing = [...objects].filter(([sha]) => !present.has(objectKey(sha)));
  const progress = cache.progress('pushing', missing.length);
  await boundedEach(missing, cache.jobs, async ([sha, size]) => {
    await remote.putFile(objectKey(sha), cache.objectPath(sha));
    progress(size);
  });
  // Entries last: a push killed before this point leaves no entry naming a missing object.
  let published = 0;
  for (const e of entries) {
    if (present.has(entryKey(e.fingerprint))) continue;
    await remote.putBytes(entryKey(e.fingerprint), encodeEntry(e));
    published++;
  }
  for (const e of entries) lines.push(`+ ${e.stage}: ${present.has(entryKey(e.fingerprint)) ? 'already in' : 'pushed to'} ${remote.name} (${short(e.fingerprint)})`);
  const sent = missing.reduce((n, [, size]) => n + size, 0);
  lines.push(`pushed ${missing.length} object(s), ${MB(sent)}, and ${published} entr${published === 1 ? 'y' : 'ies'} to ${remote.name} (${remote.url}); ${objects.size - missing.length} object(s) were there already`);
  return { lines, failed };
}

/**
 * Fetches the entries pipeline.lock records for `stages` into the local cache and puts their
 * outs in the workspace where they differ. The caller holds the run lock.
 */
export async function pullStages(project: Project, cache: RunCache, stages: readonly StageDecl[], hasher: PathHasher): Promise<SyncResult> {
  const lines: string[] = [];
  const failed: string[] = [];
  let fetched = 0;
  let bytes = 0;
  for (const { stage, fingerprint, outs } of lockedStages(project, stages, lines)) {
    const hit = await cache.lookup(stage.name, fingerprint, { strict: true });
    if (!hit) {
      lines.push(`x ${stage.name}: no cache entry for the inputs pipeline.lock records (${short(fingerprint)}) in the local cache${cache.remoteName ? ` or ${cache.remoteName}` : ''}; push it from where it was built, or run it`);
      failed.push(stage.name);
      continue;
    }
    try {
      const got = await cache.fetchObjects(hit.entry, true);
      fetched += got.fetched;
      bytes += got.bytes;
    } catch (err) {
      if (isRemoteUnavailable(err)) throw err; // said once, by the command
      lines.push(`x ${stage.name}: ${(err as Error).message}`);
      failed.push(stage.name);
      continue;
    }
    const current = await stageOuts(stage, hasher);
    if (sameOuts(outs, current)) {
      lines.push(`- ${stage.name}: outs already in place`);
      continue;
    }
    let placed: Awaited<ReturnType<RunCache['placeOuts']>>;
    try {
      placed = await cache.placeOuts(stage, hit.entry);
    } catch (err) {
      // A local object found corrupt (and removed), a full disk: the previous outs are back.
      lines.push(`x ${stage.name}: outs not restored: ${(err as Error).message}`);
      failed.push(stage.name);
      continue;
    }
    placed.guard.commit();
    const matches = sameOuts(outs, placed.outs);
    lines.push(`+ ${stage.name}: outs restored from ${hit.source}${matches ? '' : ' (they differ from the ones pipeline.lock records: the stage is not deterministic; `run` will record these)'}`);
  }
  lines.push(`pulled ${fetched} object(s), ${MB(bytes)}${cache.remoteName ? ` from ${cache.remoteName}` : ''}`);
  return { lines, failed };
}
