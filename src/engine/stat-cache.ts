// Remembers each file's content hash against its (device, inode, size, mtime ns), as DVC's
// state database does, so an unchanged file is never read again.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWrite, isTempName } from './atomic-write.ts';
import { openFolderSnapshot, readSnapshotDrift, snapshotFolder, snapshotListingLength, writeFolderSnapshot, type FolderSnapshot, type SnapshotDrift } from './folder-snapshot.ts';
import { stateWriteError } from './engine-error.ts';

/** A sha256 hex digest of content (or of a directory manifest). */
export type Hash = string & { readonly __brand: 'Hash' };

const MAGIC = Buffer.from('brickflow stat cache 1\n');
/** The op of a set record (a drop is 2); encodeRecords writes both as literals. */
const OP_SET = 1;
/** Rewrite the log when it holds this many records more than live entries (and more than twice as many). */
const COMPACT_SLACK = 1000;
/** At most this many changes are appended to a log not read in this process (more: read, maybe compact, then write). */
const UNREAD_APPEND = 64;
/** An unread append that takes the log past a multiple of this many bytes reads it instead (and so compacts it in time). */
const UNREAD_SPAN = 1 << 20;

/** An entry made or dropped in this process, not yet on disk; `null` is a drop. */
export type PendingEntry = { key: string; hash: Hash } | null;

/**
 * Two files under .pipeline/:
 * - `stat-cache.bin`, the per-file table: an append-only log of records `u32 length, u32
 *   crc32, body` (body: op, path, stat key, 32-byte hash; or a drop of a path). Read in one
 *   buffer and indexed by path without decoding the entries; a run appends only what changed,
 *   and the log is rewritten (temp file + rename) once it is mostly dead records. A record cut
 *   short by a crash fails its checksum and ends the log there.
 * - `stat-cache-dirs.json`: per dep or out path, the digest of its listing (every file's path
 *   and stat key) -> its hash. A match lets a no-op run skip the per-file table altogether.
 * - `stat-cache-folders/`: per folder, its last listing and manifest (folder-snapshot.ts), so a
 *   few changed files are merged in without the per-file table being read at all; changes
 *   made then are appended to the log unread. Beside a snapshot, its drift (`.drift`): the
 *   files that differ from it as of the last run, with their hashes, so a few changes write
 *   a few records, not the whole snapshot again; the snapshot is rewritten once its drift
 *   outgrows a small share of it.
 */
export class StatCache {
  /** The log as read, its records indexed by path (offset of the record). */
  private log: { buf: Buffer; index: Map<string, number>; records: number; validEnd: number } | undefined;
  private readonly pending = new Map<string, PendingEntry>();
  /** Set records encoded on the hash workers (a folder hashed whole while listed), for paths the table held nothing of. */
  private readonly encoded: { folder: string; buf: Buffer; records: number }[] = [];
  /** `encoded`'s records by path, indexed if a path is asked for again in this process. */
  private encodedIndex: Map<string, { buf: Buffer; at: number }> | undefined;
  private dirs: Record<string, { statDigest: string; hash: Hash }> | undefined;
  private dirsDirty = false;
  /** Bytes this instance wrote to the per-file log (for tests and benchmarks). */
  bytesWritten = 0;
  /** Paths this instance indexed reading the per-file log: 0 while it was never read (for tests). */
  pathsIndexed = 0;

  constructor(private readonly dir: string) {}

  get(path: string, key: string): Hash | undefined {
    const log = this.fileLog(); // first: loading may take over an earlier version's table into `pending`
    const p = this.pending.get(path);
    if (p !== undefined) return p && p.key === key ? p.hash : undefined;
    const at = log.index.get(path);
    const found = at !== undefined ? { buf: log.buf, at } : this.encodedRecord(path);
    if (found === undefined) return undefined;
    const e = decodeSet(found.buf, found.at);
    return e.key === key ? e.hash : undefined;
  }

  /**
   * Takes set records encoded elsewhere (encodeRecords, on the hash workers), of files under
   * `folder`, which the table knew nothing of (`knowsNothingOf`): appended with the next save.
   */
  addEncoded(folder: string, buf: Buffer, records: number): void {
    if (records === 0) return;
    this.encoded.push({ folder, buf, records });
    this.encodedIndex = undefined;
  }

  /**
   * True if nothing is cached of `rel`: no listing digest, no folder snapshot, no per-file
   * entry at or under it. Such a folder can only be hashed whole, every file read. (Records
   * taken over from the workers count by their folder, not path by path: a folder inside one
   * just streamed is not asked again.)
   */
  knowsNothingOf(rel: string): boolean {
    if (rel in this.dirTable() || existsSync(this.snapshotFile(rel))) return false;
    const prefix = `${rel}/`;
    const about = (path: string): boolean => path === rel || path.startsWith(prefix);
    const index = this.fileLog().index; // first: loading may take over an earlier version's table into `pending`
    for (const path of this.pending.keys()) if (about(path)) return false;
    for (const path of index.keys()) if (about(path)) return false;
    for (const e of this.encoded) if (about(e.folder) || rel.startsWith(`${e.folder}/`)) return false;
    return true;
  }

  private encodedRecord(path: string): { buf: Buffer; at: number } | undefined {
    return this.encoded.length === 0 ? undefined : this.encodedIndexed().get(path);
  }

  private encodedIndexed(): Map<string, { buf: Buffer; at: number }> {
    if (this.encodedIndex) return this.encodedIndex;
    const index = new Map<string, { buf: Buffer; at: number }>();
    for (const { buf } of this.encoded) {
      for (let pos = 0; pos + 8 <= buf.length; pos += 8 + buf.readUInt32LE(pos)) {
        index.set(recordPath(buf, pos), { buf, at: pos });
      }
    }
    return (this.encodedIndex = index);
  }

  /** Records a file's hash (called for cache misses only, so it is always a change). */
  set(path: string, key: string, hash: Hash): void {
    this.pending.set(path, { key, hash });
  }

  /** Drops the entries of files under folder `rel` other than `present` (they were deleted or renamed). */
  forgetOthersUnder(rel: string, present: readonly { rel: string }[]): void {
    const index = this.fileLog().index;
    if (index.size === 0) return;
    const prefix = `${rel}/`;
    // Usually every entry under the folder is a present file: counted, no set of a million paths.
    let under = 0;
    for (const path of index.keys()) if (path.startsWith(prefix)) under++;
    let presentIndexed = 0;
    for (const f of present) if (index.has(f.rel)) presentIndexed++;
    if (under === presentIndexed) return;
    let keep: Set<string> | undefined;
    for (const path of index.keys()) {
      if (!path.startsWith(prefix)) continue;
      keep ??= new Set(present.map((f) => f.rel));
      if (!keep.has(path) && this.pending.get(path) === undefined) this.pending.set(path, null);
    }
  }

  /** Drops the entries of files that are gone, the table unread (a drop of a path it lacks is harmless). */
  forget(paths: readonly string[]): void {
    for (const path of paths) this.pending.set(path, null);
  }

  /** The snapshot of folder `rel` as last saved, if whole (its `fd` to be closed by the caller). */
  folderSnapshot(rel: string): FolderSnapshot | undefined {
    return openFolderSnapshot(this.snapshotFile(rel), rel);
  }

  /** How long folder `rel`'s listing was last time, if it has a snapshot: the next listing is about as long. */
  lastListingLength(rel: string): number | undefined {
    return snapshotListingLength(this.snapshotFile(rel));
  }

  /**
   * Saves the snapshot of folder `rel` now (a cache, consistent on its own); returns the bytes
   * written. A failed write (a full disk) only costs the next re-check its speed: the command
   * goes on, and the state it must write reports the disk.
   */
  saveFolderSnapshot(rel: string, listing: Buffer, manifest: Iterable<Buffer>): number {
    let written: number;
    try {
      written = writeFolderSnapshot(this.snapshotFile(rel), rel, listing, manifest);
    } catch {
      return 0; // the previous snapshot, if any, stays: older, but true of the listing it holds
    }
    this.dropSnapshotDrift(rel); // the drift of the old snapshot (it names that one's checksum: already no drift of this)
    return written;
  }

  /** The drift of folder `rel` from its snapshot `snapshot` as of the last run, if whole and of that snapshot. */
  snapshotDrift(rel: string, snapshot: FolderSnapshot): SnapshotDrift | undefined {
    return readSnapshotDrift(this.driftFile(rel), snapshot.crc);
  }

  /** Saves folder `rel`'s drift (encodeSnapshotDrift: it names its snapshot); returns the bytes written (0 if the write failed: only a cache). */
  saveSnapshotDrift(rel: string, drift: Buffer): number {
    try {
      atomicWrite(this.driftFile(rel), drift);
      return drift.length;
    } catch {
      this.dropSnapshotDrift(rel);
      return 0;
    }
  }

  /** Forgets folder `rel`'s drift (it no longer says what differs from the snapshot). */
  dropSnapshotDrift(rel: string): void {
    try {
      rmSync(this.driftFile(rel), { force: true });
    } catch {
      // only a cache: a drift left behind names its snapshot's checksum and is checked whole
    }
  }

  /**
   * Forgets folders the pipeline no longer names (`declared`: every path it does): their
   * snapshots, their digests, and the per-file entries under them that no declared path
   * covers. Costs a directory read while nothing changed; the per-file table is read only
   * when a folder is dropped.
   */
  forgetUndeclared(declared: readonly string[]): void {
    const folders = join(this.dir, 'stat-cache-folders');
    let names: string[];
    try {
      names = readdirSync(folders);
    } catch {
      return; // no snapshots yet
    }
    const kept = new Set(declared.map((rel) => snapshotName(rel)));
    const covered = (path: string): boolean => declared.some((d) => path === d || path.startsWith(`${d}/`));
    for (const name of names) {
      const snapshot = name.endsWith(DRIFT_SUFFIX) ? name.slice(0, -DRIFT_SUFFIX.length) : name; // a drift goes with its snapshot
      if (kept.has(snapshot) || isTempName(name)) continue; // a temp file may be another command's write in progress
      const rel = snapshotFolder(join(folders, name));
      try {
        rmSync(join(folders, name), { force: true });
      } catch {
        continue; // only a cache: left for the next run to try again
      }
      if (rel === undefined) continue;
      const dirs = this.dirTable();
      if (rel in dirs) {
        delete dirs[rel];
        this.dirsDirty = true;
      }
      if (covered(rel)) continue; // e.g. data/raw dropped while data is declared: its files are still data's
      const prefix = `${rel}/`;
      for (const path of this.fileLog().index.keys()) {
        if (path.startsWith(prefix) && !covered(path)) this.pending.set(path, null);
      }
    }
  }

  private snapshotFile(rel: string): string {
    return join(this.dir, 'stat-cache-folders', snapshotName(rel));
  }

  private driftFile(rel: string): string {
    return `${this.snapshotFile(rel)}${DRIFT_SUFFIX}`;
  }

  /** How many files the per-file table holds (as saved, plus this process's changes). */
  size(): number {
    const index = this.fileLog().index;
    let n = index.size;
    for (const { records } of this.encoded) n += records; // of paths the table did not hold
    for (const [path, e] of this.pending) {
      if (e === null && index.has(path)) n--;
      else if (e !== null && !index.has(path)) n++;
    }
    return n;
  }

  /** The hash of dep/out `path` (a file or a folder manifest) if its listing is the same as when it was hashed. */
  getTarget(path: string, statDigest: string): Hash | undefined {
    const e = this.dirTable()[path];
    return e && e.statDigest === statDigest ? e.hash : undefined;
  }

  setTarget(path: string, statDigest: string, hash: Hash): void {
    const table = this.dirTable();
    const e = table[path];
    if (e && e.statDigest === statDigest && e.hash === hash) return;
    table[path] = { statDigest, hash };
    this.dirsDirty = true;
  }

  save(): void {
    if (this.pending.size > 0 || this.encoded.length > 0) this.saveFiles();
    if (this.dirsDirty && this.dirs) {
      atomicWrite(join(this.dir, 'stat-cache-dirs.json'), JSON.stringify(this.dirs));
      this.dirsDirty = false;
    }
  }

  private get logFile(): string {
    return join(this.dir, 'stat-cache.bin');
  }

  /** Appends this process's changes, or rewrites the log when most of it would be dead records. */
  private saveFiles(): void {
    const encoded = this.encoded.map((e) => e.buf);
    if (!this.log && this.pending.size <= UNREAD_APPEND) {
      const size = this.ourLogSize();
      const data = Buffer.concat([encodeRecords([...this.pending], crc32), ...encoded]);
      // Appends made unread never compact the log: every UNREAD_SPAN bytes one save reads it.
      if (size !== undefined && Math.floor(size / UNREAD_SPAN) === Math.floor((size + data.length) / UNREAD_SPAN)) {
        this.append(data);
        this.clearChanges();
        return;
      }
    }
    const log = this.fileLog();
    const changes = [...this.pending].filter(([path, e]) => e !== null || log.index.has(path));
    const live = this.size();
    const records = log.records + changes.length + this.encoded.reduce((n, e) => n + e.records, 0);
    const torn = log.validEnd < log.buf.length || log.buf.length === 0;
    if (torn || (records > 2 * live && records - live > COMPACT_SLACK)) {
      const parts: Buffer[] = [MAGIC];
      for (const [path, at] of log.index) {
        if (!this.pending.has(path)) parts.push(log.buf.subarray(at, at + 8 + log.buf.readUInt32LE(at)));
      }
      parts.push(encodeRecords(changes.filter(([, e]) => e !== null), crc32), ...encoded);
      atomicWrite(this.logFile, parts);
      this.bytesWritten += parts.reduce((n, p) => n + p.length, 0);
    } else if (changes.length > 0 || encoded.length > 0) this.append(Buffer.concat([encodeRecords(changes, crc32), ...encoded]));
    this.log = undefined; // re-read if used again
    this.clearChanges();
    rmSync(join(this.dir, 'stat-cache.tsv'), { force: true }); // the text table of earlier versions
  }

  private clearChanges(): void {
    this.pending.clear();
    this.encoded.length = 0;
    this.encodedIndex = undefined;
  }

  /** One write() with O_APPEND: a crash leaves at most one torn record at the end. */
  private append(data: Buffer): void {
    try {
      const fd = openSync(this.logFile, 'a');
      try {
        writeSync(fd, data);
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      throw stateWriteError(this.logFile, err); // a part written is a torn record: ignored when read
    }
    this.bytesWritten += data.length;
  }

  /**
   * The log's size if it exists in this version's format, so records can be appended to it
   * unread. Otherwise it must be read (and an earlier version's text table taken over) first.
   */
  private ourLogSize(): number | undefined {
    try {
      const fd = openSync(this.logFile, 'r');
      try {
        const head = Buffer.alloc(MAGIC.length);
        const ours = readSync(fd, head, 0, head.length, 0) === head.length && head.equals(MAGIC);
        return ours ? fstatSync(fd).size : undefined;
      } finally {
        closeSync(fd);
      }
    } catch {
      return undefined;
    }
  }

  /** A missing or damaged log is an empty table (it is only a cache); a torn end is ignored. */
  private fileLog(): NonNullable<StatCache['log']> {
    if (this.log) return this.log;
    let buf: Buffer;
    try {
      buf = readFileSync(this.logFile);
    } catch {
      buf = Buffer.alloc(0);
    }
    const index = new Map<string, number>();
    let records = 0;
    let pos = MAGIC.length;
    if (buf.length < pos || !buf.subarray(0, pos).equals(MAGIC)) {
      this.log = { buf: Buffer.alloc(0), index, records, validEnd: 0 };
      this.importTextTable();
      return this.log;
    }
    while (pos + 8 <= buf.length) {
      const len = buf.readUInt32LE(pos);
      const end = pos + 8 + len;
      if (end > buf.length || crc32(buf.subarray(pos + 8, end)) !== buf.readUInt32LE(pos + 4)) break;
      const path = recordPath(buf, pos);
      if (buf[pos + 8] === OP_SET) index.set(path, pos);
      else index.delete(path);
      records++;
      pos = end;
    }
    this.log = { buf, index, records, validEnd: pos };
    this.pathsIndexed += index.size;
    return this.log;
  }

  /** Earlier versions kept `path \t key \t hash` lines in stat-cache.tsv: taken over once, not re-read. */
  private importTextTable(): void {
    let text: string;
    try {
      text = readFileSync(join(this.dir, 'stat-cache.tsv'), 'utf8');
    } catch {
      return;
    }
    for (const line of text.split('\n')) {
      const [path, key, hash] = line.split('\t');
      if (path && key && hash && /^[0-9a-f]{64}$/.test(hash)) this.pending.set(path, { key, hash: hash as Hash });
    }
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

/**
 * Records into one buffer (no allocation per record): u32 body length, u32 crc32 of body;
 * body: u8 op, u16 path length, path, and for a set: u8 key length, key, 32-byte hash.
 * A plain function, zlib's crc32 passed in: the hash workers run its source (hash-pool.ts).
 */
export function encodeRecords(changes: readonly (readonly [string, PendingEntry])[], crc: typeof crc32): Buffer {
  let size = 0;
  for (const [path, e] of changes) size += 11 + Buffer.byteLength(path) + (e === null ? 0 : 1 + e.key.length + 32);
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const [path, e] of changes) {
    const body = pos + 8;
    const pathLen = buf.write(path, body + 3, 'utf8');
    buf[body] = e === null ? 2 : 1; // OP_DROP, OP_SET (literals: the workers' copy has no module constants)
    buf.writeUInt16LE(pathLen, body + 1);
    let end = body + 3 + pathLen;
    if (e !== null) {
      buf[end] = e.key.length;
      buf.write(e.key, end + 1, 'latin1');
      buf.write(e.hash, end + 1 + e.key.length, 'hex');
      end += 1 + e.key.length + 32;
    }
    buf.writeUInt32LE(end - body, pos);
    buf.writeUInt32LE(crc(buf.subarray(body, end)), pos + 4);
    pos = end;
  }
  return buf;
}

/** The path of the record (a set or a drop) at `at`. */
function recordPath(buf: Buffer, at: number): string {
  return buf.toString('utf8', at + 11, at + 11 + buf.readUInt16LE(at + 9));
}

/** The stat key and hash of the set record at `at`. */
function decodeSet(buf: Buffer, at: number): { key: string; hash: Hash } {
  const k = at + 11 + buf.readUInt16LE(at + 9);
  const keyLen = buf[k]!;
  return { key: buf.toString('latin1', k + 1, k + 1 + keyLen), hash: buf.toString('hex', k + 1 + keyLen, k + 33 + keyLen) as Hash };
}

const DRIFT_SUFFIX = '.drift';

/** The file name of folder `rel`'s snapshot under stat-cache-folders/. */
function snapshotName(rel: string): string {
  return `${createHash('sha256').update(rel).digest('hex').slice(0, 32)}.bin`;
}
