// Content hashes of deps and outs: a file's sha256, or for a folder the sha256 of its sorted
// manifest (relative path + content hash per file). Unchanged files come from the stat cache.
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { HashPool, PARALLEL_THRESHOLD, statKeyOf as statKeyOfSync } from './hash-pool.ts';
import type { Hash, StatCache } from './stat-cache.ts';

interface FileEntry {
  /** Project-relative path. */
  rel: string;
  /** Absolute path, as join(root, rel) gives it (built once while listing: join is slow per file). */
  abs: string;
  /** `dev:ino:size:mtimeNs`, '' once it vanished. */
  key: string;
  hash?: string;
}

interface Target {
  rel: string;
  kind: 'file' | 'dir' | 'missing';
  files: FileEntry[];
  /** Digest of every file's path and stat key: equal to last time means nothing changed. */
  statDigest: string;
  hash?: Hash;
}

export interface HashStats {
  /** Files whose content was read (stat cache misses). */
  filesRead: number;
  bytesRead: number;
  /** Files whose hash came from the stat cache. */
  cacheHits: number;
}

/**
 * Hashes project paths; one instance may serve a whole command. Three steps, each cheap
 * when nothing changed: stat every file while listing it; if the digest of
 * all stat keys of a path matches the cache, its hash is known; otherwise look each file
 * up in the per-file cache and read only the misses.
 */
export class PathHasher {
  readonly stats: HashStats = { filesRead: 0, bytesRead: 0, cacheHits: 0 };

  constructor(
    private readonly root: string,
    private readonly cache: StatCache,
    private readonly onProgress?: (done: number, total: number) => void,
  ) {}

  /** Hash of each path, `null` when it does not exist. */
  async hashMany(rels: readonly string[]): Promise<Map<string, Hash | null>> {
    const pool = new HashPool();
    try {
      // Paths hashed before: stat each file while listing (most will be unchanged), on this
      // thread: ~2.5 us a file, less than starting workers and posting them 100k paths.
      // Paths never seen: read each file once, taking its stat key from the open file.
      const targets = rels.map((rel) => this.list(rel, this.cache.hasTarget(rel), pool));
      const fresh = targets.filter((t) => !this.cache.hasTarget(t.rel));
      const freshFiles = fresh.flatMap((t) => t.files);
      const both = await pool.statAndHash(
        freshFiles.map((f) => f.abs),
        this.onProgress ? (done) => this.onProgress!(done, freshFiles.length) : undefined,
      );
      freshFiles.forEach((f, i) => {
        const r = both[i]!;
        const tab = r.indexOf('\t');
        if (tab < 0 && !r.startsWith('error:')) {
          f.key = r; // '' (gone) or 'dir'
          return;
        }
        // An unreadable file gets a hash that never matches, and is not cached.
        f.key = tab < 0 ? r : r.slice(0, tab);
        f.hash = tab < 0 ? r : r.slice(tab + 1);
        if (tab >= 0) this.cache.set(f.rel, f.key, f.hash as Hash);
        this.stats.filesRead++;
        this.stats.bytesRead += Number(f.key.split(':')[2] ?? 0);
      });
      for (const t of targets) this.settle(t);

      const misses: FileEntry[] = [];
      for (const t of targets) {
        if (t.kind === 'missing') continue;
        const known = this.cache.getTarget(t.rel, t.statDigest);
        if (known) {
          t.hash = known;
          this.stats.cacheHits += t.files.length;
          continue;
        }
        for (const f of t.files) {
          if (f.hash) continue; // read just now
          f.hash = this.cache.get(f.rel, f.key);
          if (f.hash) this.stats.cacheHits++;
          else misses.push(f);
        }
      }
      if (misses.length > 0) {
        const hashes = await pool.hash(
          misses.map((f) => f.abs),
          this.onProgress ? (done) => this.onProgress!(done, misses.length) : undefined,
        );
        misses.forEach((f, i) => {
          f.hash = hashes[i]!;
          // An unreadable file gets a hash that never matches, and is not cached.
          if (!f.hash.startsWith('error:')) this.cache.set(f.rel, f.key, f.hash as Hash);
          this.stats.filesRead++;
          this.stats.bytesRead += Number(f.key.split(':')[2] ?? 0);
        });
      }
      const result = new Map<string, Hash | null>();
      for (const t of targets) {
        if (t.kind === 'missing') {
          result.set(t.rel, null);
          continue;
        }
        if (!t.hash) {
          t.hash = t.kind === 'file' ? (t.files[0]!.hash as Hash) : manifestHash(t);
          if (!t.files.some((f) => f.hash!.startsWith('error:'))) this.cache.setTarget(t.rel, t.statDigest, t.hash);
        }
        result.set(t.rel, t.hash);
      }
      return result;
    } finally {
      await pool.close();
    }
  }

  async hashOne(rel: string): Promise<Hash | null> {
    return (await this.hashMany([rel])).get(rel)!;
  }

  /**
   * The files under `rel` (itself if a file), with their stat keys if `withKeys`; else they
   * will be read, and once they are many `pool` starts its threads while listing goes on.
   */
  private list(rel: string, withKeys: boolean, pool?: HashPool): Target {
    const files: FileEntry[] = [];
    let kind: Target['kind'] = 'dir';
    try {
      this.walk(rel, files, withKeys, withKeys ? undefined : pool);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') kind = 'file';
      else if (code === 'ENOENT') kind = 'missing';
      else throw err;
      const abs = join(this.root, rel);
      if (kind === 'file') files.push({ rel, abs, key: withKeys ? statKeyOfSync(abs) : '' });
    }
    return { rel, kind, files, statDigest: '' };
  }

  private walk(dirRel: string, files: FileEntry[], withKeys: boolean, pool: HashPool | undefined): void {
    const dir = join(this.root, dirRel);
    const prefix = dir.endsWith('/') ? dir : `${dir}/`; // '/' is the one normalised path ending in '/'
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      const rel = `${dirRel}/${d.name}`;
      if (d.isDirectory()) this.walk(rel, files, withKeys, pool);
      else {
        // `dir` is normalised and a name from readdir has no slash, no `.` or `..`: plain
        // concatenation equals join(root, rel).
        const abs = prefix + d.name;
        files.push({ rel, abs, key: withKeys ? statKeyOfSync(abs) : '' });
        if (files.length === PARALLEL_THRESHOLD) pool?.start();
      }
    }
  }

  /** After stat: drop files that vanished, walk symlinked folders, compute the digest. */
  private settle(t: Target): void {
    if (t.kind === 'file' && t.files[0]!.key === '') t.kind = 'missing';
    const kept: FileEntry[] = [];
    for (const f of t.files) {
      if (f.key === '') continue; // vanished while listing, or a dangling symlink
      if (f.key === 'dir') {
        const sub = this.list(f.rel, true); // a symlink to a folder: small, so stat here
        for (const s of sub.files) {
          if (s.key !== '' && s.key !== 'dir') kept.push(s);
        }
        continue;
      }
      kept.push(f);
    }
    t.files = kept;
    t.statDigest = createHash('sha256')
      .update(kept.map((f) => `${f.rel}\0${f.key}\n`).join(''))
      .digest('hex');
  }
}

/** sha256 over `relative-path NUL hash LF` lines sorted by path: renames change it too. */
function manifestHash(t: Target): Hash {
  const prefix = t.rel.length + 1;
  const lines = t.files.map((f) => `${f.rel.slice(prefix)}\0${f.hash}\n`);
  lines.sort();
  return createHash('sha256').update(lines.join('')).digest('hex') as Hash;
}
