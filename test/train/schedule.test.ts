import { describe, expect, it } from 'vitest';
import { learningRateAt } from '../../src/ml/train/schedule.ts';

describe('warm-up + cosine schedule', () => {
  const c = { baseLr: 1e-4, minLr: 0, warmupSteps: 3, totalSteps: 13 };
  it('rises linearly during warm-up to the base rate', () => {
    expect([0, 1, 2].map((s) => learningRateAt(s, c))).toEqual([1e-4 / 3, 2e-4 / 3, 1e-4].map((v) => expect.closeTo(v, 12)));
  });
  it('follows the cosine after warm-up: base at its start, half way at the middle, the floor at the end', () => {
    expect(learningRateAt(3, c)).toBeCloseTo(1e-4, 12);
    expect(learningRateAt(8, c)).toBeCloseTo(0.5e-4, 12);
    expect(learningRateAt(13, c)).toBeCloseTo(0, 12);
    expect(learningRateAt(5, { ...c, minLr: 1e-5 })).toBeCloseTo(1e-5 + 0.5 * 9e-5 * (1 + Math.cos(Math.PI * 0.2)), 12);
  });
  it('never increases after warm-up', () => {
    const lrs = Array.from({ length: 11 }, (_, k) => learningRateAt(k + 3, c));
    lrs.slice(1).forEach((lr, k) => expect(lr).toBeLessThanOrEqual(lrs[k]!));
  });
});
