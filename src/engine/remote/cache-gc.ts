// `pipeline cache gc`: drops local run-cache entries that no pipeline.lock refers to, in the
// working tree or in the last N git commits, then the objects no kept entry names. The
// remote is never collected here: other machines' locks refer to it.
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { inputsFingerprint } from '../fingerprint.ts';
import { lockAtRevision } from '../git-revision.ts';
import { readLock, type LockData } from '../lock-file.ts';
import type { Project } from '../project.ts';
import { decodeEntry, entryObjects, fingerprintOfKey, shaOfKey } from './cache-entry.ts';
import { isTempName } from '../atomic-write.ts';
import type { RunCache } from './run-cache.ts';

export const DEFAULT_KEEP_COMMITS = 10;

export interface GcResult {
  keptEntries: number;
  removedEntries: number;
  removedObjects: number;
  removedBytes: number;
  /** How many commits' locks were read (0 outside a git repository). */
  commitsRead: number;
}

/** The last `n` commits of HEAD that touched anything (empty outside git). */
function recentCommits(root: string, n: number): string[] {
  try {
    return execFileSync('git', ['rev-list', '-n', String(n), 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

export async function collectGarbage(project: Project, cache: RunCache, keepCommits: number): Promise<GcResult> {
  const commits = recentCommits(project.root, keepCommits);
  const locks: LockData[] = [readLock(project.lockFile), ...commits.map((c) => lockAtRevision(project.root, c)).filter((l): l is LockData => l !== undefined)];
  const wanted = new Set<string>(locks.flatMap((l) => Object.values(l.stages).map((e) => inputsFingerprint(e))));

  const local = await cache.localStore();
  const keep = new Set<string>();
  const dropEntries: string[] = [];
  for (const key of await local.list('entries/')) {
    const fp = fingerprintOfKey(key);
    const bytes = fp && wanted.has(fp) ? await local.getBytes(key) : null;
    const decoded = fp && bytes ? decodeEntry(bytes, fp) : undefined;
    if (decoded?.ok) for (const sha of entryObjects(decoded.entry).keys()) keep.add(sha);
    else dropEntries.push(key);
  }
  // Entries first: an entry never names an object that is gone.
  await local.delete(dropEntries);
  let removedBytes = 0;
  const dropObjects: string[] = [];
  for (const key of await local.list('objects/')) {
    const sha = shaOfKey(key);
    if (sha && keep.has(sha)) continue;
    removedBytes += (await fs.stat(join(cache.dir, key)).catch(() => ({ size: 0 }))).size;
    dropObjects.push(key);
  }
  await local.delete(dropObjects);
  // Leftovers of a killed restore or put (older than an hour: not a run going on now).
  await removeStale(join(cache.dir, 'staging'), () => true, false);
  await removeStale(join(cache.dir, 'objects'), isTempName, true);
  return { keptEntries: (await local.list('entries/')).length, removedEntries: dropEntries.length, removedObjects: dropObjects.length, removedBytes, commitsRead: commits.length };
}

async function removeStale(dir: string, isTemp: (name: string) => boolean, recursive: boolean): Promise<void> {
  const hourAgo = Date.now() - 3600_000;
  const entries = await fs.readdir(dir, { recursive, withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const abs = join(e.parentPath, e.name);
    if (!isTemp(e.name)) continue;
    const st = await fs.stat(abs).catch(() => undefined);
    if (st && st.mtimeMs < hourAgo) await fs.rm(abs, { recursive: true, force: true });
  }
}

