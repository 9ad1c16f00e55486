/**
 * Restricting a cached split to some of its rows, for experiments that train on a subset of
 * the data with the same loop (bench/transfer.ts: renders only vs the real-look source only).
 * A training image's K augmented variants share their original's path, so a hold-out is
 * drawn per original: no variant of a held-out image is ever trained on.
 */
import { seedFrom } from '../random.ts';
import type { CachedSplit } from '../augment-cache-reader.ts';

/** The rows of `split` for which `keep(i)` holds, as a split of their own (images copied). */
export function selectRows(split: CachedSplit, keep: (i: number) => boolean): CachedSplit {
  const rows: number[] = [];
  for (let i = 0; i < split.n; i++) if (keep(i)) rows.push(i);
  const pixels = split.height * split.width * 3;
  const images = new Uint8Array(rows.length * pixels);
  rows.forEach((r, k) => images.set(split.images.subarray(r * pixels, (r + 1) * pixels), k * pixels));
  return {
    n: rows.length, height: split.height, width: split.width, images,
    partIndex: Int32Array.from(rows, (r) => split.partIndex[r]!),
    colorIndex: Int32Array.from(rows, (r) => split.colorIndex[r]!),
    source: rows.map((r) => split.source[r]!),
    weight: Float32Array.from(rows, (r) => split.weight[r]!),
    path: rows.map((r) => split.path[r]!),
  };
}

/** The rows of `split` from the named sources. */
export function selectSources(split: CachedSplit, sources: readonly string[]): CachedSplit {
  return selectRows(split, (i) => sources.includes(split.source[i]!));
}

/**
 * Splits `split` into rows to train on and rows held out, `fraction` of the originals held out.
 * Which original is held out depends only on its path and `salt` (seedFrom), so the choice is
 * the same across runs and does not move when other images are added.
 */
export function holdOutOriginals(split: CachedSplit, fraction: number, salt: string): { kept: CachedSplit; heldOut: CachedSplit } {
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`holdOutOriginals: fraction must be in [0, 1), got ${fraction}`);
  const held = (i: number) => seedFrom(salt, split.path[i]!) / 4294967296 < fraction;
  return { kept: selectRows(split, (i) => !held(i)), heldOut: selectRows(split, held) };
}
