// The run cache's layout, shared by the local cache (.pipeline/cache/) and every remote:
//   objects/ab/<sha256>            a file's content, named by its hash (stored once, however
//                                  many stages, runs or people produce it)
//   entries/<fingerprint>.json     what one stage produced for one full input fingerprint
//                                  (the value pipeline.lock's inputs hash to): each out's files
//                                  and their hashes. Written last, so an entry is visible
//                                  only once every object it names is in place.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { manifestHash } from '../path-hasher.ts';
import type { Hash } from '../stat-cache.ts';
import { sortKeys } from '../lock-file.ts';

export interface EntryFile {
  /** Path inside the out, `/`-separated; '' when the out is a single file. */
  path: string;
  sha256: string;
  size: number;
  /** The file was executable. */
  exec?: true;
}

export interface EntryOut {
  /** The out's hash as pipeline.lock records it (a file's sha256, a folder's manifest hash). */
  hash: Hash;
  kind: 'file' | 'dir';
  files: EntryFile[];
}

export interface CacheEntry {
  version: 1;
  stage: string;
  /** inputsFingerprint of the inputs the outs were built from. */
  fingerprint: string;
  /** Out (and metrics file) path -> what it holds. */
  outs: Record<string, EntryOut>;
}

const SHA256 = /^[0-9a-f]{64}$/;

export const objectKey = (sha256: string): string => `objects/${sha256.slice(0, 2)}/${sha256}`;
export const entryKey = (fingerprint: string): string => `entries/${fingerprint}.json`;
/** The fingerprint an `entries/…` key names, or undefined for anything else. */
export const fingerprintOfKey = (key: string): string | undefined => /^entries\/([0-9a-f]{64})\.json$/.exec(key)?.[1];
/** The sha256 an `objects/…` key names, or undefined for anything else. */
export const shaOfKey = (key: string): string | undefined => /^objects\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(key)?.[1];

export function encodeEntry(entry: CacheEntry): Uint8Array {
  // Sorted keys: two machines pushing one entry write the same bytes.
  return Buffer.from(`${JSON.stringify(sortKeys(entry), null, 1)}\n`);
}

/**
 * Parses an entry and checks it holds together: every hash well formed, every out's hash
 * the one its files make. A damaged entry is a reason (a miss), not an exception.
 */
export function decodeEntry(bytes: Uint8Array, fingerprint: string): { ok: true; entry: CacheEntry } | { ok: false; why: string } {
  let entry: CacheEntry;
  try {
    entry = JSON.parse(Buffer.from(bytes).toString('utf8')) as CacheEntry;
  } catch (err) {
    return { ok: false, why: `not JSON (${(err as Error).message})` };
  }
  if (entry?.version !== 1 || entry.fingerprint !== fingerprint || typeof entry.outs !== 'object') return { ok: false, why: 'not a version 1 entry for this fingerprint' };
  for (const [path, out] of Object.entries(entry.outs)) {
    if (!Array.isArray(out.files) || out.files.some((f) => !SHA256.test(f.sha256) || typeof f.path !== 'string' || f.path.split('/').includes('..'))) {
      return { ok: false, why: `out ${path} lists a bad file` };
    }
    if (outHash(path, out) !== out.hash) return { ok: false, why: `out ${path}: its files do not make its hash` };
  }
  return { ok: true, entry };
}

/** The hash pipeline.lock records for an out holding `out.files` (path-hasher's rules). */
export function outHash(path: string, out: Pick<EntryOut, 'kind' | 'files'>): Hash {
  if (out.kind === 'file') return (out.files[0]?.sha256 ?? '') as Hash;
  return manifestHash(path, out.files.map((f) => ({ rel: `${path}/${f.path}`, hash: f.sha256 })));
}

/** Every object an entry needs, once each. */
export function entryObjects(entry: CacheEntry): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const out of Object.values(entry.outs)) for (const f of out.files) sizes.set(f.sha256, f.size);
  return sizes;
}

/** sha256 of a file's content, streamed. */
export function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}
