// A folder dep's or out's last listing beside its sorted manifest (the text its hash is the
// sha256 of), so that after a few files change the new manifest is the old one with those
// lines merged in: no per-file objects, no sort, no per-file table lookups for the rest. The
// manifest is streamed a block at a time, never held whole.
import { crc32 } from 'node:zlib';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { atomicWrite } from './atomic-write.ts';

/**
 * `MAGIC, u16 folder length, folder, listing, manifest, u48 listing length, u48 manifest
 * length, u32 crc32 of all before it`. Written whole (temp file + rename); a torn or damaged
 * file fails its lengths or checksum and is no snapshot, so the caller re-derives the folder.
 */
const MAGIC = Buffer.from('brickflow folder snapshot 2\n');
const TRAILER = 6 + 6 + 4;
const HEX_LINE = 1 + 64 + 1; // NUL, hash, LF after a path
const BLOCK = 1 << 20;

/** A snapshot checked whole and open for reading: the listing in memory, the manifest on disk. */
export interface FolderSnapshot {
  /** The listing's records as the lister wrote them (file-lister.ts). */
  listing: Buffer;
  fd: number;
  /** Where the manifest (sorted `path NUL sha256-hex LF` lines, paths below the folder) lies in the file. */
  manifestStart: number;
  manifestLength: number;
  /** The file's checksum: what a drift names to say which snapshot it is the drift of. */
  crc: number;
}

/** The snapshot of folder `rel` in `file` if it is whole (close its `fd` when done); read in blocks. */
export function openFolderSnapshot(file: string, rel: string): FolderSnapshot | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    const start = readHead(fd, size);
    if (start?.folder !== rel) throw new Error('not ours');
    const head = start.length;
    if (size < head + TRAILER) throw new Error('short');
    const tail = readAt(fd, size - TRAILER, TRAILER);
    const listingLength = tail.readUIntLE(0, 6);
    const manifestLength = tail.readUIntLE(6, 6);
    if (head + listingLength + manifestLength + TRAILER !== size) throw new Error('torn');
    let crc = 0;
    const block = Buffer.allocUnsafe(BLOCK); // one buffer for the whole pass: no garbage a block
    for (let pos = 0; pos < size - 4; pos += BLOCK) {
      const n = Math.min(BLOCK, size - 4 - pos);
      readInto(fd, block, 0, n, pos);
      crc = crc32(block.subarray(0, n), crc);
    }
    if (crc !== tail.readUInt32LE(12)) throw new Error('damaged');
    return { listing: readAt(fd, head, listingLength), fd, manifestStart: head + listingLength, manifestLength, crc };
  } catch {
    closeSync(fd);
    return undefined;
  }
}

/** The length of the listing a snapshot holds, from its trailer alone (a size hint: not checked). */
export function snapshotListingLength(file: string): number | undefined {
  try {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const length = size > TRAILER ? readAt(fd, size - TRAILER, TRAILER).readUIntLE(0, 6) : undefined;
      return length !== undefined && length < size ? length : undefined; // a torn file's tail is no length
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/** The folder a snapshot file says it holds, from its head alone (not checked whole); undefined if not a snapshot. */
export function snapshotFolder(file: string): string | undefined {
  try {
    const fd = openSync(file, 'r');
    try {
      return readHead(fd, fstatSync(fd).size)?.folder;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/** `MAGIC, u16 folder length, folder`: the folder and the head's length, or undefined if the file does not start so. */
function readHead(fd: number, size: number): { folder: string; length: number } | undefined {
  if (size < MAGIC.length + 2) return undefined;
  const start = readAt(fd, 0, MAGIC.length + 2);
  if (!start.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const length = MAGIC.length + 2 + start.readUInt16LE(MAGIC.length);
  return length <= size ? { folder: readAt(fd, MAGIC.length + 2, length - MAGIC.length - 2).toString('utf8'), length } : undefined;
}

/** Writes the snapshot of folder `rel`, the manifest's parts made as they are written; returns the bytes written. */
export function writeFolderSnapshot(file: string, rel: string, listing: Buffer, manifest: Iterable<Buffer>): number {
  let written = 0;
  function* parts(): Generator<Buffer> {
    const relBuf = Buffer.from(rel);
    const head = Buffer.alloc(MAGIC.length + 2);
    MAGIC.copy(head);
    head.writeUInt16LE(relBuf.length, MAGIC.length);
    let crc = 0;
    let manifestLength = 0;
    for (const p of [head, relBuf, listing]) {
      crc = crc32(p, crc);
      written += p.length;
      yield p;
    }
    for (const p of manifest) {
      crc = crc32(p, crc);
      manifestLength += p.length;
      written += p.length;
      yield p;
    }
    const tail = Buffer.alloc(TRAILER);
    tail.writeUIntLE(listing.length, 0, 6);
    tail.writeUIntLE(manifestLength, 6, 6);
    tail.writeUInt32LE(crc32(tail.subarray(0, 12), crc), 12);
    written += tail.length;
    yield tail;
  }
  atomicWrite(file, parts());
  return written;
}

/**
 * What differs in a folder from its snapshot, as of the last run: each file new or changed
 * since (path below the folder -> its stat key and hash) and each file gone. After a few
 * changes the snapshot stays as it is and only this small file is written; the next run
 * diffs its listing against the snapshot's again and takes the hashes of files whose keys
 * still match from here instead of reading them.
 */
export interface SnapshotDrift {
  changed: Map<string, { key: string; hash: string }>;
  removed: Set<string>;
}

/**
 * `DRIFT_MAGIC, u32 crc of the snapshot, records, u32 crc32 of all before it`; a record is
 * `c path NUL key NUL hash NUL` or `r path NUL` (paths and keys hold no NUL). Written whole
 * (temp file + rename); a torn or damaged file, or one of another snapshot, is no drift.
 */
const DRIFT_MAGIC = Buffer.from('brickflow snapshot drift 1\n');

/** The drift of the snapshot whose checksum is `snapshotCrc`, if `file` holds a whole one. */
export function readSnapshotDrift(file: string, snapshotCrc: number): SnapshotDrift | undefined {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return undefined;
  }
  const head = DRIFT_MAGIC.length + 4;
  if (buf.length < head + 4 || !buf.subarray(0, DRIFT_MAGIC.length).equals(DRIFT_MAGIC)) return undefined;
  if (buf.readUInt32LE(DRIFT_MAGIC.length) !== snapshotCrc) return undefined;
  const end = buf.length - 4;
  if (crc32(buf.subarray(0, end)) !== buf.readUInt32LE(end)) return undefined;
  const drift: SnapshotDrift = { changed: new Map(), removed: new Set() };
  const field = (at: number): [string, number] => {
    const z = buf.indexOf(0, at);
    if (z < 0 || z >= end) throw new Error('cut');
    return [buf.toString('utf8', at, z), z + 1];
  };
  try {
    for (let at = head; at < end; ) {
      const kind = buf[at];
      const [path, afterPath] = field(at + 1);
      if (kind === R) {
        drift.removed.add(path);
        at = afterPath;
      } else if (kind === C) {
        const [key, afterKey] = field(afterPath);
        const [hash, next] = field(afterKey);
        drift.changed.set(path, { key, hash });
        at = next;
      } else return undefined;
    }
  } catch {
    return undefined;
  }
  return drift;
}

/** The bytes of `drift` as readSnapshotDrift reads them back. */
export function encodeSnapshotDrift(snapshotCrc: number, drift: SnapshotDrift): Buffer {
  const parts: Buffer[] = [DRIFT_MAGIC, Buffer.alloc(4)];
  parts[1]!.writeUInt32LE(snapshotCrc);
  for (const [path, { key, hash }] of drift.changed) parts.push(Buffer.from(`c${path}\0${key}\0${hash}\0`));
  for (const path of drift.removed) parts.push(Buffer.from(`r${path}\0`));
  const body = Buffer.concat(parts);
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(crc32(body));
  return Buffer.concat([body, tail]);
}

const C = 'c'.charCodeAt(0);
const R = 'r'.charCodeAt(0);

/**
 * The snapshot's manifest with `changes` merged in, block by block, as parts of the blocks
 * read and new lines: each change a path below the folder with its new hash, or `null` for a
 * file gone. `changes` must be sorted as manifestHash sorts (UTF-16 code units, JS's default).
 * A part is valid until the next is asked for (one buffer is read into over and over).
 * Throws if the manifest lacks a file said to be gone, or is not made of manifest lines: it
 * was not the snapshot of the listing it came with, and the folder must be re-derived.
 */
export function* mergedManifest(snap: FolderSnapshot, changes: readonly (readonly [string, string | null])[], blockSize = BLOCK): Generator<Buffer> {
  const end = snap.manifestStart + snap.manifestLength;
  let work = Buffer.allocUnsafe(2 * blockSize);
  let carry = 0; // bytes of a line cut by the last block, moved to the start of `work`
  let next = 0;
  for (let pos = snap.manifestStart; ; ) {
    const n = Math.min(blockSize, end - pos);
    if (carry + n > work.length) {
      const grown = Buffer.allocUnsafe(carry + n + blockSize); // a line longer than a block
      work.copy(grown, 0, 0, carry);
      work = grown;
    }
    readInto(snap.fd, work, carry, n, pos);
    pos += n;
    const buf = work.subarray(0, carry + n);
    const last = pos >= end;
    const cut = last ? buf.length : wholeLinesEnd(buf);
    const region = buf.subarray(0, cut);
    // The changes up to this region's last path belong in it; a later one goes after it.
    let upto = next;
    if (last) upto = changes.length;
    else if (cut > 0) {
      const lastPath = pathAt(region, lineStartOf(region, region.lastIndexOf(0)));
      while (upto < changes.length && changes[upto]![0] <= lastPath) upto++;
    }
    yield* mergeInto(region, changes.slice(next, upto));
    next = upto;
    if (last) return;
    carry = buf.length - cut;
    work.copyWithin(0, cut, buf.length);
  }
}

/** Lines of `region` (whole lines) with `changes` merged in. */
function* mergeInto(region: Buffer, changes: readonly (readonly [string, string | null])[]): Generator<Buffer> {
  let pos = 0;
  for (const [path, hash] of changes) {
    const at = firstLineNotBefore(region, pos, path);
    if (at > pos) yield region.subarray(pos, at);
    pos = at;
    if (at < region.length && pathAt(region, at) === path) pos = lineEnd(region, at);
    else if (hash === null) throw new Error(`the snapshot's manifest lacks ${path}`);
    if (hash !== null) yield Buffer.from(`${path}\0${hash}\n`);
  }
  if (pos < region.length) yield region.subarray(pos);
}

function readAt(fd: number, pos: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  readInto(fd, buf, 0, length, pos);
  return buf;
}

function readInto(fd: number, buf: Buffer, offset: number, length: number, pos: number): void {
  for (let done = 0; done < length; ) {
    const n = readSync(fd, buf, offset + done, length - done, pos + done);
    if (n === 0) throw new Error('the file ended early');
    done += n;
  }
}

/** The path of the line starting at `s`. */
function pathAt(buf: Buffer, s: number): string {
  return buf.toString('utf8', s, buf.indexOf(0, s));
}

/** The end of the line starting at `s` (checked: NUL, 64 hex digits, LF). */
function lineEnd(buf: Buffer, s: number): number {
  const e = buf.indexOf(0, s) + HEX_LINE;
  if (e <= s || e > buf.length || buf[e - 1] !== 10) throw new Error('not a manifest line');
  return e;
}

/** The start of the line whose NUL is at `z`: a path may hold any byte but NUL, and each NUL is followed by exactly a hash and LF. */
function lineStartOf(buf: Buffer, z: number): number {
  const before = z > 0 ? buf.lastIndexOf(0, z - 1) : -1;
  return before < 0 ? 0 : before + HEX_LINE;
}

/** The end of the last whole line in `buf` (which starts with a line). */
function wholeLinesEnd(buf: Buffer): number {
  const z = buf.lastIndexOf(0);
  if (z < 0) return 0;
  return z + HEX_LINE <= buf.length ? z + HEX_LINE : lineStartOf(buf, z);
}

/**
 * The start of the first line at or after line start `lo` whose path is not before `path`
 * (the buffer's length if none), by binary search over byte offsets, the NULs marking lines.
 */
function firstLineNotBefore(buf: Buffer, lo: number, path: string): number {
  let hi = buf.length;
  while (lo < hi) {
    let mid = lineStartFrom(buf, lo + Math.floor((hi - lo) / 2), lo);
    if (mid >= hi) mid = lo;
    if (pathAt(buf, mid) < path) lo = lineEnd(buf, mid);
    else hi = mid;
  }
  return lo;
}

/** The first line start at or after `m`, given that `floor` <= `m` is one. */
function lineStartFrom(buf: Buffer, m: number, floor: number): number {
  if (m === floor) return m;
  const z = buf.indexOf(0, m);
  if (z < 0) return buf.length;
  const start = Math.max(floor, lineStartOf(buf, z));
  return start >= m ? start : z + HEX_LINE;
}
