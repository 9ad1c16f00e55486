// Content hashes of deps and outs: a file's sha256, or for a folder the sha256 of its sorted
// manifest (relative path + content hash per file). Unchanged files come from the stat cache.
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { listPath, type ListedFile, type Listing } from './file-lister.ts';
import { closeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSnapshotDrift, mergedManifest, type FolderSnapshot } from './folder-snapshot.ts';
import { HashPool } from './hash-pool.ts';
import { StreamedFolderHash, type FolderHashed } from './streamed-folder-hash.ts';
import { diffListings } from './listing-diff.ts';
import type { Hash, StatCache } from './stat-cache.ts';

export interface HashStats {
  /** Files whose content was read (stat cache misses). */
  filesRead: number;
  bytesRead: number;
  /** Files whose hash came from the per-file stat cache (a whole unchanged path counts none). */
  cacheHits: number;
  /** Paths whose hash came whole from the cache: no file of theirs changed. */
  pathsUnchanged: number;
  /**
   * File records of listings decoded into per-file entries: all of a folder's when it is
   * re-derived file by file, only those that differ from last time's when its snapshot applies.
   */
  recordsParsed: number;
  /** Bytes of folder snapshots written. */
  snapshotBytesWritten: number;
  /** Files of folders the cache knew nothing of, hashed on the workers while being listed. */
  filesHashedWhileListed: number;
}

/** What hashing tells the user: progress of a long read, and entries it had to skip. */
export type HashEvent = { type: 'hashing'; done: number; total: number; listing?: boolean } | { type: 'warning'; message: string };

/** A folder re-checked from its snapshot: the files that differ from it (to read, or known from its drift), and those gone. */
interface SnapshotPlan {
  snapshot: FolderSnapshot;
  /** Files new or changed since the snapshot whose hash must be read. */
  changed: ListedFile[];
  /** Files new or changed since the snapshot whose hash the drift holds for their stat key. */
  known: ListedFile[];
  removed: string[];
  /** Files the drift already had as gone (their per-file entries were dropped then). */
  removedBefore: ReadonlySet<string>;
  /** Files the drift had as new or changed that no longer differ from the snapshot. */
  leftDrift: string[];
}

/**
 * A folder's drift (what differs from its snapshot) is kept while it is at most this share of
 * the snapshot's listing (or SNAPSHOT_DRIFT_MIN bytes); beyond, the snapshot is rewritten.
 * Each run re-merges the drift into the snapshot's manifest, so it must stay small.
 */
const SNAPSHOT_DRIFT_SHARE = 1 / 32;
const SNAPSHOT_DRIFT_MIN = 64 * 1024;

/**
 * Hashes project paths; one instance may serve a whole command. Each step is cheap when
 * little changed: list each path with every file's stat key (file-lister.ts); if the digest
 * of that listing matches the cache, its hash is known; otherwise, for a folder with a
 * snapshot of its last listing and manifest, read only the files whose records differ and
 * merge them into that manifest; failing that, look each file up in the per-file cache. The
 * files to read are read on worker threads. A folder the cache knows nothing of is read
 * whole while it is still being listed (streamed-folder-hash.ts).
 */
export class PathHasher {
  readonly stats: HashStats = { filesRead: 0, bytesRead: 0, cacheHits: 0, pathsUnchanged: 0, recordsParsed: 0, snapshotBytesWritten: 0, filesHashedWhileListed: 0 };

  constructor(
    private readonly root: string,
    private readonly cache: StatCache,
    private readonly onEvent?: (e: HashEvent) => void,
  ) {}

  /** Hash of each path, `null` when it does not exist. */
  async hashMany(rels: readonly string[]): Promise<Map<string, Hash | null>> {
    // A folder the cache knows nothing of is hashed while it is listed (streamed-folder-hash.ts).
    // Only a folder is asked about: the question may read the per-file table, which a missing
    // out or a file never needs.
    const streamed = new Map<string, StreamedFolderHash>();
    for (const rel of new Set(rels)) {
      if (isFolder(join(this.root, rel)) && this.cache.knowsNothingOf(rel)) streamed.set(rel, new StreamedFolderHash(this.root, rel, this.progress()));
    }
    try {
      return await this.hashListed(rels, streamed);
    } finally {
      await Promise.all([...streamed.values()].map((s) => s.close()));
    }
  }

  private async hashListed(rels: readonly string[], streamed: Map<string, StreamedFolderHash>): Promise<Map<string, Hash | null>> {
    // All paths listed at once: several finds use both cores.
    const listings = await Promise.all(
      rels.map((rel) => {
        const s = streamed.get(rel);
        return listPath(this.root, rel, () => this.cache.lastListingLength(rel), s && ((records) => s.feed(records)));
      }),
    );
    const result = new Map<string, Hash | null>();
    const whole: { t: Listing; files: ListedFile[] }[] = [];
    const merged: { t: Listing; plan: SnapshotPlan }[] = [];
    const fresh: { t: Listing; s: StreamedFolderHash }[] = [];
    let misses: ListedFile[] = [];
    for (const t of listings) {
      for (const message of t.warnings) this.onEvent?.({ type: 'warning', message });
      if (t.kind === 'missing') {
        result.set(t.rel, null);
        continue;
      }
      const s = streamed.get(t.rel);
      if (t.kind === 'dir' && s && !fresh.some((f) => f.s === s)) {
        fresh.push({ t, s }); // (a path named twice: hashed once, then found in the cache)
        continue;
      }
      const known = this.cache.getTarget(t.rel, t.statDigest);
      if (known) {
        result.set(t.rel, known);
        this.stats.pathsUnchanged++;
        continue;
      }
      const plan = t.kind === 'dir' ? this.planFromSnapshot(t) : undefined;
      if (plan) {
        for (const f of plan.changed) misses.push(f); // (a spread of many would overflow the stack)
        merged.push({ t, plan });
      } else whole.push({ t, files: this.lookUp(t, misses) });
    }
    for (const { t, s } of fresh) {
      result.set(t.rel, this.finishStreamed(t, await s.finish()));
      await s.close(); // its threads, now rather than at the end of the command
    }
    await this.read(misses);
    misses = [];
    for (const { t, plan } of merged) {
      let hash: Hash | undefined;
      try {
        hash = this.finishFromSnapshot(t, plan);
      } finally {
        closeSync(plan.snapshot.fd);
      }
      if (hash) result.set(t.rel, hash);
      else whole.push({ t, files: this.lookUp(t, misses) }); // the snapshot did not fit its listing
    }
    await this.read(misses);
    for (const { t, files } of whole) result.set(t.rel, this.finishWhole(t, files));
    return result;
  }

  async hashOne(rel: string): Promise<Hash | null> {
    return (await this.hashMany([rel])).get(rel)!;
  }

  /** Every file of `t` with its hash from the per-file cache; the misses are added to `misses`. */
  private lookUp(t: Listing, misses: ListedFile[]): ListedFile[] {
    const files = t.files();
    this.stats.recordsParsed += files.length;
    for (const f of files) {
      f.hash = this.cache.get(f.rel, f.key);
      if (f.hash) this.stats.cacheHits++;
      else misses.push(f);
    }
    return files;
  }

  /** Progress of a long read, as `hashing` events. */
  private progress(): ((done: number, total: number, listing: boolean) => void) | undefined {
    return this.onEvent ? (done, total, listing) => this.onEvent!({ type: 'hashing', done, total, ...(listing && { listing }) }) : undefined;
  }

  /** The hash of a folder every file of which was just read on the workers, their stat-cache records taken over. */
  private finishStreamed(t: Listing, r: FolderHashed): Hash {
    this.stats.filesRead += r.files;
    this.stats.bytesRead += r.bytes;
    this.stats.recordsParsed += r.files;
    this.stats.filesHashedWhileListed += r.files;
    for (const [path, code] of r.errors) this.onEvent?.({ type: 'warning', message: `could not read ${t.rel}/${path}: ${code}` });
    for (const { buf, records } of r.log) this.cache.addEncoded(t.rel, buf, records);
    return this.hashWholeFolder(t, r.manifest, r.errors.length === 0);
  }

  /** Reads the content of `files` on worker threads, and caches their hashes. */
  private async read(files: ListedFile[]): Promise<void> {
    if (files.length === 0) return;
    const pool = new HashPool();
    try {
      const hashes = await pool.hash(
        files.map((f) => f.rel),
        this.onEvent ? (done) => this.onEvent!({ type: 'hashing', done, total: files.length }) : undefined,
        this.root,
      );
      files.forEach((f, i) => {
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

  /** The hash of `t` from all its files; a folder's manifest is kept as its snapshot. */
  private finishWhole(t: Listing, files: ListedFile[]): Hash {
    if (t.kind === 'file') {
      const hash = files[0]!.hash as Hash;
      if (!hash.startsWith('error:')) this.cache.setTarget(t.rel, t.statDigest, hash);
      return hash;
    }
    this.cache.forgetOthersUnder(t.rel, files);
    return this.hashWholeFolder(t, manifestText(t.rel, files), !files.some((f) => f.hash!.startsWith('error:')));
  }

  /**
   * The hash of folder `t` from its whole manifest; when every file could be read, its
   * listing digest and snapshot are kept for the next run.
   */
  private hashWholeFolder(t: Listing, manifest: string, readable: boolean): Hash {
    const hash = createHash('sha256').update(manifest).digest('hex') as Hash;
    if (readable) {
      this.cache.setTarget(t.rel, t.statDigest, hash);
      // Paths that are not UTF-8 decode lossily, so two could read the same: no snapshot then.
      if (isUtf8(t.records)) this.stats.snapshotBytesWritten += this.cache.saveFolderSnapshot(t.rel, t.records, [Buffer.from(manifest)]);
    }
    return hash;
  }

  /** What changed in folder `t` since its snapshot, if it has a whole one. */
  private planFromSnapshot(t: Listing): SnapshotPlan | undefined {
    if (!isUtf8(t.records)) return undefined;
    const snapshot = this.cache.folderSnapshot(t.rel);
    if (!snapshot) return undefined;
    const diff = diffListings(snapshot.listing, t.records);
    this.stats.recordsParsed += diff.parsed;
    const drift = this.cache.snapshotDrift(t.rel, snapshot);
    const changed: ListedFile[] = [];
    const known: ListedFile[] = [];
    for (const [path, key] of diff.changed) {
      const f: ListedFile = { rel: `${t.rel}/${path}`, key };
      const was = drift?.changed.get(path);
      if (was?.key === key) {
        f.hash = was.hash;
        known.push(f);
      } else changed.push(f);
    }
    // A file the drift had as new or changed that differs from the snapshot no more: gone since
    // (or back as the snapshot has it). Its per-file entry goes, or renames would pile them up.
    const leftDrift = drift ? [...drift.changed.keys()].filter((path) => !diff.changed.has(path)) : [];
    return { snapshot, changed, known, removed: diff.removed, removedBefore: drift?.removed ?? new Set(), leftDrift };
  }

  /**
   * The hash of folder `t`: its snapshot's manifest with the files that differ from it merged
   * in, streamed through sha256. What differs is saved as the snapshot's drift while that is
   * small; beyond, the merged manifest goes into a new snapshot as it is hashed. `undefined`
   * if the changes do not fit the snapshot.
   */
  private finishFromSnapshot(t: Listing, plan: SnapshotPlan): Hash | undefined {
    const prefix = t.rel.length + 1;
    const changes: [string, string | null][] = [...plan.changed, ...plan.known].map((f) => [f.rel.slice(prefix), f.hash!]);
    for (const path of plan.removed) changes.push([path, null]);
    changes.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)); // as manifestText sorts its lines
    const h = createHash('sha256');
    let whole = false;
    function* hashed(parts: Iterable<Buffer>): Generator<Buffer> {
      for (const p of parts) {
        h.update(p);
        yield p;
      }
      whole = true;
    }
    const merged = hashed(mergedManifest(plan.snapshot, changes));
    const readable = !plan.changed.some((f) => f.hash!.startsWith('error:'));
    // A small drift is all that is written; the snapshot only once the drift outgrows its share.
    const drift = readable ? driftBytes(plan, prefix) : undefined;
    const keepSnapshot = drift !== undefined && drift.length <= Math.max(SNAPSHOT_DRIFT_MIN, plan.snapshot.listing.length * SNAPSHOT_DRIFT_SHARE);
    try {
      // An unreadable file's line holds its error: hashed (the folder is not cached), not kept.
      if (readable && !keepSnapshot) this.stats.snapshotBytesWritten += this.cache.saveFolderSnapshot(t.rel, t.records, merged);
      else for (const _ of merged);
    } catch {
      return undefined; // not a manifest line where one should be
    }
    if (!whole) return undefined; // the write stopped part way (the disk, or the manifest did not fit)
    const hash = h.digest('hex') as Hash;
    if (keepSnapshot) this.stats.snapshotBytesWritten += this.cache.saveSnapshotDrift(t.rel, drift);
    else if (!readable) this.cache.dropSnapshotDrift(t.rel); // it would say files were forgotten that this run may have cached
    // Files gone since the snapshot whose entries an earlier run already dropped are not dropped again.
    const gone = [...(keepSnapshot ? plan.removed.filter((path) => !plan.removedBefore.has(path)) : plan.removed), ...plan.leftDrift];
    this.cache.forget(gone.map((path) => `${t.rel}/${path}`));
    if (readable) this.cache.setTarget(t.rel, t.statDigest, hash);
    return hash;
  }
}

/** The drift of `plan`'s folder from its snapshot after this run: every file that differs, with its hash. */
function driftBytes(plan: SnapshotPlan, prefix: number): Buffer {
  const changed = new Map<string, { key: string; hash: string }>();
  for (const f of [...plan.changed, ...plan.known]) changed.set(f.rel.slice(prefix), { key: f.key, hash: f.hash! });
  return encodeSnapshotDrift(plan.snapshot.crc, { changed, removed: new Set(plan.removed) });
}

/** `relative-path NUL hash LF` lines sorted by path (JS's order: UTF-16 code units): renames change it too. */
function manifestText(rel: string, files: { rel: string; hash?: string }[]): string {
  const prefix = rel.length + 1;
  const lines = files.map((f) => `${f.rel.slice(prefix)}\0${f.hash}\n`);
  lines.sort();
  return lines.join('');
}

/** sha256 of a folder's manifest (manifestText): what pipeline.lock and run-cache entries hold. */
export function manifestHash(rel: string, files: { rel: string; hash?: string }[]): Hash {
  return createHash('sha256').update(manifestText(rel, files)).digest('hex') as Hash;
}

/** A folder at `abs` (symlinks followed, as the lister follows them); anything unreadable is not. */
function isFolder(abs: string): boolean {
  try {
    return statSync(abs, { throwIfNoEntry: false })?.isDirectory() === true;
  } catch {
    return false;
  }
}
