// Remembers each file's content hash against its (device, inode, size, mtime ns), as DVC's
// state database does, so an unchanged file is never read again.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWrite } from './atomic-write.ts';

/** A sha256 hex digest of content (or of a directory manifest). */
export type Hash = string & { readonly __brand: 'Hash' };

/** The identity of one version of a file, as far as the file system tells without reading it. */
export function statKey(st: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint }): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`;
}

/**
 * Two files under .pipeline/: `stat-cache.tsv` (lines `path \t statKey \t hash`, one per
 * file) and `stat-cache-dirs.json` (per dep or out path: a digest of every file's path and statKey
 * -> its hash). That entry lets a no-op run skip loading the
 * per-file table at all, which is what keeps 100k files under a second. Both are loaded
 * lazily and rewritten (temp file + rename) only when something changed.
 */
export class StatCache {
  private files: Map<string, { key: string; hash: Hash }> | undefined;
  private dirs: Record<string, { statDigest: string; hash: Hash }> | undefined;
  private filesDirty = false;
  private dirsDirty = false;

  constructor(private readonly dir: string) {}

  get(path: string, key: string): Hash | undefined {
    const e = this.fileTable().get(path);
    return e && e.key === key ? e.hash : undefined;
  }

  set(path: string, key: string, hash: Hash): void {
    const table = this.fileTable();
    const e = table.get(path);
    if (e && e.key === key && e.hash === hash) return;
    table.set(path, { key, hash });
    this.filesDirty = true;
  }

  /** The hash of dep/out `path` (a file or a folder manifest) if none of its files' stats changed. */
  getTarget(path: string, statDigest: string): Hash | undefined {
    const e = this.dirTable()[path];
    return e && e.statDigest === statDigest ? e.hash : undefined;
  }

  /** Whether `path` was ever hashed (if not, its files are read without a separate stat pass). */
  hasTarget(path: string): boolean {
    return this.dirTable()[path] !== undefined;
  }

  setTarget(path: string, statDigest: string, hash: Hash): void {
    const table = this.dirTable();
    const e = table[path];
    if (e && e.statDigest === statDigest && e.hash === hash) return;
    table[path] = { statDigest, hash };
    this.dirsDirty = true;
  }

  save(): void {
    if (this.filesDirty && this.files) {
      const parts: string[] = [];
      for (const [path, e] of this.files) parts.push(`${path}\t${e.key}\t${e.hash}\n`);
      atomicWrite(join(this.dir, 'stat-cache.tsv'), parts.join(''));
      this.filesDirty = false;
    }
    if (this.dirsDirty && this.dirs) {
      atomicWrite(join(this.dir, 'stat-cache-dirs.json'), JSON.stringify(this.dirs));
      this.dirsDirty = false;
    }
  }

  /** A missing or damaged file is an empty table: it is only a cache. */
  private fileTable(): Map<string, { key: string; hash: Hash }> {
    if (this.files) return this.files;
    this.files = new Map();
    let text = '';
    try {
      text = readFileSync(join(this.dir, 'stat-cache.tsv'), 'utf8');
    } catch {
      return this.files;
    }
    for (const line of text.split('\n')) {
      const a = line.indexOf('\t');
      const b = line.indexOf('\t', a + 1);
      if (a < 0 || b < 0) continue;
      this.files.set(line.slice(0, a), { key: line.slice(a + 1, b), hash: line.slice(b + 1) as Hash });
    }
    return this.files;
  }

  private dirTable(): Record<string, { statDigest: string; hash: Hash }> {
    if (this.dirs) return this.dirs;
    try {
      this.dirs = JSON.parse(readFileSync(join(this.dir, 'stat-cache-dirs.json'), 'utf8')) as typeof this.dirs;
    } catch {
      this.dirs = {};
    }
    return (this.dirs ??= {});
  }
}
