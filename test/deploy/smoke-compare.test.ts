// Comparing the device's logits with the host's: the verdict the smoke test rests on.
import { describe, expect, it } from 'vitest';
import { compareOutputs, type SmokeSamples } from '../../src/ml/deploy/smoke-samples.ts';

const samples: SmokeSamples = {
  names: ['a.png', 'b.png'],
  inputName: 'image',
  sampleShape: [1, 3, 2, 2],
  inputs: new Float32Array(24),
  pixels: new Uint8Array(24),
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  hostOutputs: { part_logits: [[0.1, 0.9, 0.2], [0.7, 0.1, 0.2]], color_logits: [[1, 0], [0, 1]] },
  origin: 'images',
};

describe('compareOutputs', () => {
  it('agrees fully when the device returns the host logits', () => {
    expect(compareOutputs(samples, structuredClone(samples.hostOutputs))).toEqual({ maxAbsDiff: 0, top1Agreement: 1, disagreements: [] });
  });

  it('reports the largest difference and names the sample whose argmax moved', () => {
    const device = { part_logits: [[0.1, 0.9, 0.2], [0.1, 0.7, 0.2]], color_logits: [[1, 0.001], [0, 1]] };
    const c = compareOutputs(samples, device);
    expect(c.maxAbsDiff).toBeCloseTo(0.6, 6);
    expect(c.top1Agreement).toBe(0.75);
    expect(c.disagreements).toEqual(['b.png: part_logits argmax host 0 vs device 1']);
  });

  it('treats a missing output or missing values as an infinite difference', () => {
    expect(compareOutputs(samples, { part_logits: samples.hostOutputs.part_logits! }).maxAbsDiff).toBe(Infinity);
    expect(compareOutputs(samples, { ...samples.hostOutputs, color_logits: [[1], [0, 1]] }).maxAbsDiff).toBe(Infinity);
  });
});
