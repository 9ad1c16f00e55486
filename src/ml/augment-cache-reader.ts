// Reads artifacts/augment-cache back for train, evaluate and export: one read per split
// (packed uint8 RGB HWC, no image decoding) plus the labels and per-sample metadata.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE_FORMAT } from './augment/cache-key.ts';
import { INDEX_FILE, LABELS_FILE, type CacheIndex, type SplitIndex } from './augment/cache-layout.ts';
import type { Labels, Split } from './augment/dataset-input.ts';

export type { Labels } from './augment/dataset-input.ts';

export interface CachedSplit {
  n: number;
  height: number;
  width: number;
  /** n * height * width * 3, uint8 RGB HWC. */
  images: Uint8Array;
  /** Index into labels.parts. */
  partIndex: Int32Array;
  /** Index into labels.colors; -1 = unknown. */
  colorIndex: Int32Array;
  source: string[];
  /** Per-sample loss weight (config/augment.yaml source_weights). */
  weight: Float32Array;
  /** The original image (a training image's K variants share it). */
  path: string[];
}

export interface AugmentCache { train: CachedSplit; val: CachedSplit; test: CachedSplit; labels: Labels }

/** The cache is missing, from another format, or inconsistent; the message names the file. */
export class AugmentCacheError extends Error {}

export function readAugmentCache(dir: string): AugmentCache {
  const index = readJson<CacheIndex>(join(dir, INDEX_FILE));
  if (index.format !== CACHE_FORMAT) {
    throw new AugmentCacheError(`${join(dir, INDEX_FILE)}: cache format ${index.format}, this reader knows ${CACHE_FORMAT}; rerun the augment-cache stage`);
  }
  const labels = readJson<Labels>(join(dir, LABELS_FILE));
  const split = (name: Split) => readSplit(dir, name, index.splits[name]);
  return { train: split('train'), val: split('val'), test: split('test'), labels };
}

/** Sample `i` of a split as its own HWC view (no copy). */
export function sampleImage(split: CachedSplit, i: number): Uint8Array {
  const bytes = split.height * split.width * 3;
  return split.images.subarray(i * bytes, (i + 1) * bytes);
}

function readSplit(dir: string, name: Split, s: SplitIndex | undefined): CachedSplit {
  if (!s) throw new AugmentCacheError(`${join(dir, INDEX_FILE)}: no "${name}" split`);
  const file = join(dir, s.file);
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    throw new AugmentCacheError(`${file}: cannot read ${name} images (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const expected = s.n * s.height * s.width * 3;
  if (buf.byteLength !== expected) {
    throw new AugmentCacheError(`${file}: ${buf.byteLength} bytes, the index says ${s.n} images of ${s.height}x${s.width}x3 = ${expected}`);
  }
  for (const key of ['part_index', 'color_index', 'source', 'weight', 'path'] as const) {
    if (s[key].length !== s.n) throw new AugmentCacheError(`${join(dir, INDEX_FILE)}: ${name}.${key} has ${s[key].length} entries, n is ${s.n}`);
  }
  return {
    n: s.n, height: s.height, width: s.width,
    images: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength),
    partIndex: Int32Array.from(s.part_index),
    colorIndex: Int32Array.from(s.color_index),
    source: s.source,
    weight: Float32Array.from(s.weight),
    path: s.path,
  };
}

function readJson<T>(file: string): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AugmentCacheError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)}); has the augment-cache stage run?`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new AugmentCacheError(`${file}: not JSON (${(err as Error).message})`);
  }
}
