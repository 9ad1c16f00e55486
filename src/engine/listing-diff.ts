// What changed between two listings of one folder (file-lister.ts records), found without
// decoding the records that are the same: runs of equal bytes are skipped a block at a time,
// and only the records that differ become strings. The lister's order is stable for an
// unchanged folder, so after one edit almost every record lines up with last time's.
import { parseRecord } from './file-lister.ts';

export interface ListingDiff {
  /** Files (path below the listed folder) that are new or have a new stat key, with that key. */
  changed: Map<string, string>;
  /** Files listed last time and not now. */
  removed: string[];
  /** File records decoded (the rest were compared byte for byte). */
  parsed: number;
}

/** Bytes compared at once while the two listings agree. */
const BLOCK = 16 * 1024;
/** Records looked ahead for a path that was inserted or removed before resuming in step. */
const LOOKAHEAD = 64;
const NUL = 0;
const SPACE = 32;
const F = 102;

/**
 * The difference between listing `prev` and listing `next`. Correct for any two listings: a
 * record either equals one of the other side's byte for byte (same path, same stat key) or
 * it is decoded; the stepping only decides how few are decoded.
 */
export function diffListings(prev: Buffer, next: Buffer): ListingDiff {
  const gone = new Map<string, string>();
  const come = new Map<string, string>();
  let parsed = 0;
  /** Decodes the record [s, e) of `buf` into `into` if it is a file's. */
  const take = (buf: Buffer, s: number, e: number, into: Map<string, string>): void => {
    if (buf[s] !== F) return;
    const r = parseRecord(buf.toString('utf8', s, e), 0, e - s);
    into.set(r.path, r.key);
    parsed++;
  };
  let i = 0;
  let j = 0;
  while (i < prev.length && j < next.length) {
    if (i + BLOCK <= prev.length && j + BLOCK <= next.length && prev.compare(next, j, j + BLOCK, i, i + BLOCK) === 0) {
      const k = prev.lastIndexOf(NUL, i + BLOCK - 1); // the last whole record in the equal block
      if (k >= i) {
        j += k + 1 - i;
        i = k + 1;
        continue;
      }
    }
    const pe = end(prev, i);
    const ne = end(next, j);
    if (pe - i === ne - j && prev.compare(next, j, ne, i, pe) === 0) {
      i = pe + 1;
      j = ne + 1;
      continue;
    }
    const pp = pathStart(prev, i, pe);
    const np = pathStart(next, j, ne);
    if (pe - pp === ne - np && prev.compare(next, np, ne, pp, pe) === 0) {
      // The same path with a new stat key (or type).
      take(prev, i, pe, gone);
      take(next, j, ne, come);
      i = pe + 1;
      j = ne + 1;
      continue;
    }
    // Different paths: an insertion on one side (the other's path comes a few records on),
    // or, failing that, a record gone and one come.
    const inNext = findPath(next, j, prev, pp, pe);
    const inPrev = findPath(prev, i, next, np, ne);
    if (inNext >= 0 && (inPrev < 0 || inNext - j <= inPrev - i)) {
      for (let e = end(next, j); j < inNext; j = e + 1, e = end(next, j)) take(next, j, e, come);
    } else if (inPrev >= 0) {
      for (let e = end(prev, i); i < inPrev; i = e + 1, e = end(prev, i)) take(prev, i, e, gone);
    } else {
      take(prev, i, pe, gone);
      take(next, j, ne, come);
      i = pe + 1;
      j = ne + 1;
    }
  }
  for (let e = end(prev, i); i < prev.length; i = e + 1, e = end(prev, i)) take(prev, i, e, gone);
  for (let e = end(next, j); j < next.length; j = e + 1, e = end(next, j)) take(next, j, e, come);
  // A file decoded on both sides (it moved in the order, or its stat key changed).
  const removed: string[] = [];
  for (const [path, key] of gone) {
    const now = come.get(path);
    if (now === undefined) removed.push(path);
    else if (now === key) come.delete(path);
  }
  return { changed: come, removed, parsed };
}

/** The NUL ending the record at `s` (or the buffer's end if it has none). */
function end(buf: Buffer, s: number): number {
  const e = buf.indexOf(NUL, s);
  return e < 0 ? buf.length : e;
}

/** Where the path starts in the record [s, e): after type, device, inode, size and mtime. */
function pathStart(buf: Buffer, s: number, e: number): number {
  let p = s;
  for (let n = 0; n < 5; n++) {
    p = buf.indexOf(SPACE, p);
    if (p < 0 || p >= e) return e;
    p++;
  }
  return p;
}

/** The start of a record in `buf` from `from` on (within LOOKAHEAD records) whose path is `other`[ps, pe), or -1. */
function findPath(buf: Buffer, from: number, other: Buffer, ps: number, pe: number): number {
  let s = from;
  for (let n = 0; n < LOOKAHEAD && s < buf.length; n++) {
    const e = end(buf, s);
    const p = pathStart(buf, s, e);
    if (e - p === pe - ps && buf.compare(other, ps, pe, p, e) === 0) return s;
    s = e + 1;
  }
  return -1;
}
