// Content hashes of deps and outs: a file's sha256, or for a folder the sha256 of its sorted
// manifest (relative path + content hash per file). Unchanged files come from the stat cache.
import { createHash } from 'node:crypto';
import { readdirSync, statSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { hashFiles } from './hash-pool.ts';
import { statKey, type Hash, type StatCache } from './stat-cache.ts';

interface FileEntry {
  /** Project-relative path. */
  rel: string;
  key: string;
  hash?: Hash;
}

interface Target {
  rel: string;
  kind: 'file' | 'dir' | 'missing';
  files: FileEntry[];
  /** For a folder: digest of every file's path and stat key, in walk order. */
  statDigest?: string;
  /** For a folder whose stats all match the cache: its manifest hash. */
  cachedHash?: Hash;
}

export interface HashStats {
  /** Files whose content was read (stat cache misses). */
  filesRead: number;
  bytesRead: number;
  /** Files whose hash came from the stat cache. */
  cacheHits: number;
}

/** Hashes project paths; one instance may serve a whole command. */
export class PathHasher {
  readonly stats: HashStats = { filesRead: 0, bytesRead: 0, cacheHits: 0 };

  constructor(
    private readonly root: string,
    private readonly cache: StatCache,
    /** Told about long hashing jobs: (label, done, total). */
    private readonly onProgress?: (done: number, total: number) => void,
  ) {}

  /** Hash of each path, `null` when it does not exist. */
  async hashMany(rels: readonly string[]): Promise<Map<string, Hash | null>> {
    const targets = rels.map((rel) => this.collect(rel));
    const misses: FileEntry[] = [];
    for (const t of targets) {
      if (t.kind === 'dir') {
        t.cachedHash = this.cache.getDir(t.rel, t.statDigest!);
        if (t.cachedHash) {
          this.stats.cacheHits += t.files.length;
          continue;
        }
      }
      for (const f of t.files) {
        const hit = this.cache.get(f.rel, f.key);
        if (hit) {
          f.hash = hit;
          this.stats.cacheHits++;
        } else {
          misses.push(f);
        }
      }
    }
    if (misses.length > 0) {
      const hashes = await hashFiles(
        misses.map((f) => join(this.root, f.rel)),
        this.onProgress ? (done) => this.onProgress!(done, misses.length) : undefined,
      );
      misses.forEach((f, i) => {
        const h = hashes[i]!;
        // An unreadable file gets a hash that never matches, and is not cached.
        f.hash = h as Hash;
        if (!h.startsWith('error:')) this.cache.set(f.rel, f.key, f.hash);
        this.stats.filesRead++;
        this.stats.bytesRead += Number(f.key.split(':')[2]);
      });
    }
    const result = new Map<string, Hash | null>();
    for (const t of targets) {
      if (t.kind === 'missing') result.set(t.rel, null);
      else if (t.kind === 'file') result.set(t.rel, t.files[0]!.hash!);
      else if (t.cachedHash) result.set(t.rel, t.cachedHash);
      else {
        const hash = manifestHash(t);
        if (!t.files.some((f) => f.hash!.startsWith('error:'))) this.cache.setDir(t.rel, t.statDigest!, hash);
        result.set(t.rel, hash);
      }
    }
    return result;
  }

  async hashOne(rel: string): Promise<Hash | null> {
    return (await this.hashMany([rel])).get(rel)!;
  }

  private collect(rel: string): Target {
    const st = statOrNull(join(this.root, rel));
    if (!st) return { rel, kind: 'missing', files: [] };
    if (!st.isDirectory()) return { rel, kind: 'file', files: [{ rel, key: keyOf(st) }] };
    const files: FileEntry[] = [];
    this.walk(rel, files);
    const digest = createHash('sha256');
    for (const f of files) digest.update(`${f.rel}\0${f.key}\n`);
    return { rel, kind: 'dir', files, statDigest: digest.digest('hex') };
  }

  private walk(dirRel: string, files: FileEntry[]): void {
    const abs = join(this.root, dirRel);
    for (const d of readdirSync(abs, { withFileTypes: true })) {
      const rel = `${dirRel}/${d.name}`;
      if (d.isDirectory()) {
        this.walk(rel, files);
        continue;
      }
      const st = statOrNull(join(abs, d.name));
      if (!st) continue; // vanished while walking, or a dangling symlink
      if (st.isDirectory()) this.walk(rel, files);
      else files.push({ rel, key: keyOf(st) });
    }
  }
}

function statOrNull(abs: string): BigIntStats | null {
  return statSync(abs, { bigint: true, throwIfNoEntry: false }) ?? null;
}

function keyOf(st: BigIntStats): string {
  return statKey({ dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs });
}

/** sha256 over `relative-path NUL hash LF` lines sorted by path: renames change it too. */
function manifestHash(t: Target): Hash {
  const prefix = t.rel.length + 1;
  const lines = t.files.map((f) => `${f.rel.slice(prefix)}\0${f.hash}\n`);
  lines.sort();
  const h = createHash('sha256');
  for (const l of lines) h.update(l);
  return h.digest('hex') as Hash;
}
