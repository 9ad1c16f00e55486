// A folder dep's or out's last listing beside its sorted manifest (the text its hash is the
// sha256 of), so that after a few files change the new manifest is the old one with those
// lines merged in: no per-file objects, no sort, no per-file table lookups for the rest.
import { crc32 } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { atomicWrite } from './atomic-write.ts';

export interface FolderSnapshot {
  /** The listing's records as the lister wrote them (file-lister.ts). */
  listing: Buffer;
  /** Sorted `path NUL sha256-hex LF` lines, paths below the folder (path-hasher.ts manifestHash). */
  manifest: Buffer;
}

/**
 * `MAGIC, u32 crc32 of the rest, u48 listing length, u48 manifest length, u16 folder length,
 * folder, listing, manifest`. Written whole (temp file + rename); a torn or damaged file
 * fails its lengths or checksum and is no snapshot, so the caller re-derives the folder.
 */
const MAGIC = Buffer.from('brickflow folder snapshot 1\n');
const HEAD = MAGIC.length + 4 + 6 + 6 + 2;
const HEX_LINE = 1 + 64 + 1; // NUL, hash, LF after a path

export function readFolderSnapshot(file: string, rel: string): FolderSnapshot | undefined {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return undefined;
  }
  if (buf.length < HEAD || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const listingLen = buf.readUIntLE(MAGIC.length + 4, 6);
  const manifestLen = buf.readUIntLE(MAGIC.length + 10, 6);
  const relLen = buf.readUInt16LE(MAGIC.length + 16);
  if (HEAD + relLen + listingLen + manifestLen !== buf.length) return undefined;
  if (crc32(buf.subarray(MAGIC.length + 4)) !== buf.readUInt32LE(MAGIC.length)) return undefined;
  if (buf.toString('utf8', HEAD, HEAD + relLen) !== rel) return undefined;
  const at = HEAD + relLen;
  return { listing: buf.subarray(at, at + listingLen), manifest: buf.subarray(at + listingLen) };
}

/** Writes the snapshot of folder `rel`; returns the bytes written. */
export function writeFolderSnapshot(file: string, rel: string, listing: Buffer, manifest: readonly Buffer[]): number {
  const relBuf = Buffer.from(rel);
  const head = Buffer.alloc(HEAD);
  MAGIC.copy(head);
  head.writeUIntLE(listing.length, MAGIC.length + 4, 6);
  head.writeUIntLE(
    manifest.reduce((n, p) => n + p.length, 0),
    MAGIC.length + 10,
    6,
  );
  head.writeUInt16LE(relBuf.length, MAGIC.length + 16);
  const parts = [head, relBuf, listing, ...manifest];
  let crc = crc32(head.subarray(MAGIC.length + 4));
  for (const p of parts.slice(1)) crc = crc32(p, crc);
  head.writeUInt32LE(crc, MAGIC.length);
  atomicWrite(file, parts);
  return parts.reduce((n, p) => n + p.length, 0);
}

/**
 * The manifest with `changes` merged in, as parts of the old buffer and new lines (nothing
 * copied): each change a path below the folder with its new hash, or `null` for a file gone.
 * `changes` must be sorted as manifestHash sorts (by UTF-16 code units, JS's default).
 * `undefined` when the manifest does not hold a file said to be gone: it was not the
 * snapshot of the listing it came with, and the folder must be re-derived.
 */
export function mergeManifest(manifest: Buffer, changes: readonly (readonly [string, string | null])[]): Buffer[] | undefined {
  const parts: Buffer[] = [];
  let pos = 0;
  for (const [path, hash] of changes) {
    const at = firstLineNotBefore(manifest, pos, path);
    if (at === undefined) return undefined;
    if (at > pos) parts.push(manifest.subarray(pos, at));
    pos = at;
    const present = at < manifest.length && pathAt(manifest, at) === path;
    if (present) pos = manifest.indexOf(0, at) + HEX_LINE;
    else if (hash === null) return undefined;
    if (hash !== null) parts.push(Buffer.from(`${path}\0${hash}\n`));
  }
  if (pos < manifest.length) parts.push(manifest.subarray(pos));
  return parts;
}

/** The path of the line starting at `s`. */
function pathAt(buf: Buffer, s: number): string {
  return buf.toString('utf8', s, buf.indexOf(0, s));
}

/**
 * The start of the first line at or after line start `lo` whose path is not before `path`
 * (the buffer's length if none), by binary search over byte offsets: a path may hold any
 * byte but NUL, and each NUL is followed by exactly a hash and LF, so the NULs mark lines.
 * `undefined` if the lines are not so formed.
 */
function firstLineNotBefore(buf: Buffer, lo: number, path: string): number | undefined {
  let hi = buf.length;
  while (lo < hi) {
    let mid = lineStartFrom(buf, lo + Math.floor((hi - lo) / 2), lo);
    if (mid === undefined) return undefined;
    if (mid >= hi) mid = lo;
    if (pathAt(buf, mid) < path) {
      const next = buf.indexOf(0, mid) + HEX_LINE;
      if (next <= mid || next > buf.length || buf[next - 1] !== 10) return undefined;
      lo = next;
    } else hi = mid;
  }
  return lo;
}

/** The first line start at or after `m`, given that `floor` <= `m` is one. */
function lineStartFrom(buf: Buffer, m: number, floor: number): number | undefined {
  if (m === floor) return m;
  const z = buf.indexOf(0, m);
  if (z < 0) return buf.length;
  const before = buf.lastIndexOf(0, z - 1);
  const start = before < floor ? floor : before + HEX_LINE;
  if (start > z) return undefined;
  return start >= m ? start : z + HEX_LINE;
}
