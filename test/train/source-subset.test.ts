import { describe, expect, it } from 'vitest';
import type { CachedSplit } from '../../src/ml/augment-cache-reader.ts';
import { holdOutOriginals, selectSources } from '../../src/ml/train/source-subset.ts';
import { syntheticSplit } from './synthetic-split.ts';

/** 4 variants of each of `originals` images per source, as the augment cache lays them out. */
function cacheLike(originals: number): CachedSplit {
  const base = syntheticSplit(originals * 4, 8, 3, { sources: ['legacy', 'b200c', 'real'] });
  return { ...base, path: base.source.map((s, i) => `data/${s}/${Math.floor(i / 12)}-${i % 3}.png`) };
}

describe('training on a subset of the sources', () => {
  it('keeps exactly the rows of the named sources, each image with its own labels and pixels', () => {
    const split = cacheLike(30);
    const renders = selectSources(split, ['legacy', 'b200c']);
    expect(renders.n).toBe(split.source.filter((s) => s !== 'real').length);
    expect(new Set(renders.source)).toEqual(new Set(['legacy', 'b200c']));
    const pixels = 8 * 8 * 3;
    const firstB200c = split.source.indexOf('b200c');
    const k = renders.source.indexOf('b200c');
    expect(renders.path[k]).toBe(split.path[firstB200c]);
    expect(renders.partIndex[k]).toBe(split.partIndex[firstB200c]);
    expect(Array.from(renders.images.subarray(k * pixels, (k + 1) * pixels))).toEqual(Array.from(split.images.subarray(firstB200c * pixels, (firstB200c + 1) * pixels)));
    expect(selectSources(split, ['real']).source.every((s) => s === 'real')).toBe(true);
  });

  it('holds out whole originals: no variant of a held-out image is left to train on, and the choice is stable', () => {
    const split = cacheLike(100);
    const { kept, heldOut } = holdOutOriginals(split, 0.2, 'salt');
    expect(kept.n + heldOut.n).toBe(split.n);
    const heldPaths = new Set(heldOut.path);
    expect(kept.path.some((p) => heldPaths.has(p))).toBe(false);
    // Every held-out original has all of its variants held out.
    for (const p of heldPaths) expect(heldOut.path.filter((q) => q === p).length).toBe(split.path.filter((q) => q === p).length);
    expect(heldPaths.size / new Set(split.path).size).toBeGreaterThan(0.05);
    expect(heldPaths.size / new Set(split.path).size).toBeLessThan(0.4);
    expect(holdOutOriginals(split, 0.2, 'salt').heldOut.path).toEqual(heldOut.path);
    expect(holdOutOriginals(split, 0.2, 'other salt').heldOut.path).not.toEqual(heldOut.path);
    expect(() => holdOutOriginals(split, 1, 'salt')).toThrow(/fraction/);
  });
});
