import { describe, expect, it } from 'vitest';
import type { ManifestEntry } from '../../src/ml/augment/dataset-input.ts';
import { trainFitSample } from '../../src/ml/train/train-fit.ts';

const labels = { parts: ['3001', '3003'], colors: [{ id: 4, name: 'Red', rgb: 'C91A09' }] };
const entry = (i: number, source: string, over: Partial<ManifestEntry> = {}): ManifestEntry => ({
  path: `${source}/${i}.png`, sha256: (i * 7919 % 1000).toString(16).padStart(64, '0'), source, part_id: i % 2 ? '3001' : '3003', color_id: 4, split: 'train', width: 64, height: 64, ...over,
});

describe('the train-fit sample', () => {
  it('takes per source the train images of head parts with the smallest content hashes, whatever the manifest order', () => {
    const entries = [
      ...Array.from({ length: 100 }, (_, i) => entry(i, 'legacy')),
      ...Array.from({ length: 10 }, (_, i) => entry(i, 'real')),
      entry(500, 'real', { split: 'val' }),
      entry(501, 'real', { part_id: '9999' }),
    ];
    const sample = trainFitSample(entries, labels, 64);
    expect(sample.filter((e) => e.source === 'legacy')).toHaveLength(64);
    expect(sample.filter((e) => e.source === 'real').map((e) => e.path).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `real/${i}.png`).sort());
    const legacyHashes = sample.filter((e) => e.source === 'legacy').map((e) => e.sha256);
    const allLegacy = entries.filter((e) => e.source === 'legacy').map((e) => e.sha256).sort();
    expect(legacyHashes).toEqual(allLegacy.slice(0, 64));
    expect(trainFitSample([...entries].reverse(), labels, 64)).toEqual(sample);
  });
});
