// Content hashes of deps and outs: a file's sha256, or for a folder the sha256 of its sorted
// manifest (relative path + content hash per file). Unchanged files come from the stat cache.
import { createHash } from 'node:crypto';
import { listPath, type ListedFile, type Listing } from './file-lister.ts';
import { HashPool } from './hash-pool.ts';
import type { Hash, StatCache } from './stat-cache.ts';

export interface HashStats {
  /** Files whose content was read (stat cache misses). */
  filesRead: number;
  bytesRead: number;
  /** Files whose hash came from the per-file stat cache (a whole unchanged path counts none). */
  cacheHits: number;
  /** Paths whose hash came whole from the cache: no file of theirs changed. */
  pathsUnchanged: number;
}

/** What hashing tells the user: progress of a long read, and entries it had to skip. */
export type HashEvent = { type: 'hashing'; done: number; total: number } | { type: 'warning'; message: string };

/**
 * Hashes project paths; one instance may serve a whole command. Three steps, each cheap
 * when nothing changed: list each path with every file's stat key (file-lister.ts); if the
 * digest of that listing matches the cache, its hash is known; otherwise look each file up
 * in the per-file cache and read only the misses, on worker threads.
 */
export class PathHasher {
  readonly stats: HashStats = { filesRead: 0, bytesRead: 0, cacheHits: 0, pathsUnchanged: 0 };

  constructor(
    private readonly root: string,
    private readonly cache: StatCache,
    private readonly onEvent?: (e: HashEvent) => void,
  ) {}

  /** Hash of each path, `null` when it does not exist. */
  async hashMany(rels: readonly string[]): Promise<Map<string, Hash | null>> {
    // All paths listed at once: several finds use both cores.
    const listings = await Promise.all(rels.map((rel) => listPath(this.root, rel)));
    const result = new Map<string, Hash | null>();
    const pending: { t: Listing; files: ListedFile[] }[] = [];
    const misses: ListedFile[] = [];
    for (const t of listings) {
      for (const message of t.warnings) this.onEvent?.({ type: 'warning', message });
      if (t.kind === 'missing') {
        result.set(t.rel, null);
        continue;
      }
      const known = this.cache.getTarget(t.rel, t.statDigest);
      if (known) {
        result.set(t.rel, known);
        this.stats.pathsUnchanged++;
        continue;
      }
      const files = t.files();
      for (const f of files) {
        f.hash = this.cache.get(f.rel, f.key);
        if (f.hash) this.stats.cacheHits++;
        else misses.push(f);
      }
      pending.push({ t, files });
    }
    if (misses.length > 0) {
      const pool = new HashPool();
      try {
        const hashes = await pool.hash(
          misses.map((f) => f.rel),
          this.onEvent ? (done) => this.onEvent!({ type: 'hashing', done, total: misses.length }) : undefined,
          this.root,
        );
        misses.forEach((f, i) => {
          f.hash = hashes[i]!;
          // An unreadable file gets a hash that never matches, and is not cached.
          if (f.hash.startsWith('error:')) this.onEvent?.({ type: 'warning', message: `could not read ${f.rel}: ${f.hash.slice(6)}` });
          else this.cache.set(f.rel, f.key, f.hash as Hash);
          this.stats.filesRead++;
          this.stats.bytesRead += Number(f.key.split(':')[2] ?? 0);
        });
      } finally {
        await pool.close();
      }
    }
    for (const { t, files } of pending) {
      const hash = t.kind === 'file' ? (files[0]!.hash as Hash) : manifestHash(t.rel, files);
      if (t.kind === 'dir') this.cache.forgetOthersUnder(t.rel, files);
      if (!files.some((f) => f.hash!.startsWith('error:'))) this.cache.setTarget(t.rel, t.statDigest, hash);
      result.set(t.rel, hash);
    }
    return result;
  }

  async hashOne(rel: string): Promise<Hash | null> {
    return (await this.hashMany([rel])).get(rel)!;
  }
}

/** sha256 over `relative-path NUL hash LF` lines sorted by path: renames change it too. */
export function manifestHash(rel: string, files: { rel: string; hash?: string }[]): Hash {
  const prefix = rel.length + 1;
  const lines = files.map((f) => `${f.rel.slice(prefix)}\0${f.hash}\n`);
  lines.sort();
  return createHash('sha256').update(lines.join('')).digest('hex') as Hash;
}
