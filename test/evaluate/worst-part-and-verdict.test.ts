import { describe, expect, it } from 'vitest';
import { defaultEvaluationOptions, evaluateClassifier } from '../../src/ml/metrics/evaluate-classifier.ts';
import { learnedVerdict } from '../../src/ml/metrics/learned-verdict.ts';
import { flatMetrics } from '../../src/ml/metrics/metrics-file.ts';

/** One-hot logits for a fixed (true, predicted) list over `nParts` parts. */
function fromPairs(pairs: [number, number][], nParts: number) {
  const partLogits = new Float32Array(pairs.length * nParts);
  pairs.forEach(([, p], i) => { partLogits[i * nParts + p] = 5; });
  return {
    partLogits, colorLogits: new Float32Array(pairs.length), nParts, nColors: 1,
    partIndex: Int32Array.from(pairs, ([t]) => t), colorIndex: new Int32Array(pairs.length).fill(-1),
  };
}
const repeat = (n: number, pair: [number, number]): [number, number][] => Array.from({ length: n }, () => pair);

describe('worst_part_recall', () => {
  // Part 0: 9 of 10 right; part 1: 3 of 6 right (the worst eligible part); part 2: 0 of 2 (too few test images); part 3 absent.
  const pairs = [...repeat(9, [0, 0]), [0, 1] as [number, number], ...repeat(3, [1, 1]), ...repeat(3, [1, 0]), ...repeat(2, [2, 0])];
  const labels = { parts: ['3001', '3003', '3004', '3020'], colors: [{ id: 0, name: 'Black' }], part_only: true };

  it('is the lowest per-part recall over parts with at least the minimum test images, with a bootstrap interval, and counts the parts left out', () => {
    const e = evaluateClassifier(fromPairs(pairs, 4), { ...defaultEvaluationOptions, resamples: 500, worstPartMinTestImages: 5 });
    expect(e.worstPartRecall).toMatchObject({ value: 0.5, part: 1, eligibleParts: 2, excludedParts: 1 });
    const flat = flatMetrics(e, labels);
    expect(flat['worst_part_recall']).toBe(0.5);
    expect(flat['worst_part_recall_parts_excluded']).toBe(1);
    expect(flat['worst_part_recall_ci_low']!).toBeLessThan(0.5);
    expect(flat['worst_part_recall_ci_high']!).toBeGreaterThanOrEqual(0.5);
    expect(flat['worst_part_recall_ci_high']!).toBeLessThanOrEqual(1);
  });

  it('with a minimum of 1 counts every present part, so the 0-of-2 part is the worst; none qualifying is null', () => {
    const all = evaluateClassifier(fromPairs(pairs, 4), { ...defaultEvaluationOptions, resamples: 200, worstPartMinTestImages: 1 });
    expect(all.worstPartRecall).toMatchObject({ value: 0, part: 2, eligibleParts: 3, excludedParts: 0 });
    const none = evaluateClassifier(fromPairs(pairs, 4), { ...defaultEvaluationOptions, resamples: 200, worstPartMinTestImages: 50 });
    expect(none.worstPartRecall).toMatchObject({ value: null, part: null, interval: null, eligibleParts: 0, excludedParts: 3 });
    expect(flatMetrics(none, labels)['worst_part_recall']).toBeNull();
  });
});

describe('learned or memorised: the verdict', () => {
  it('not learned under 50% train-fit; memorised 20+ points above test; learned otherwise; untested sources only fit', () => {
    expect(learnedVerdict(0.49, 0.45)).toBe('not learned');
    expect(learnedVerdict(0.3, null)).toBe('not learned');
    expect(learnedVerdict(0.708, 0.319)).toBe('memorised');
    expect(learnedVerdict(0.7, 0.5)).toBe('memorised');
    expect(learnedVerdict(0.69, 0.5)).toBe('learned');
    expect(learnedVerdict(0.5, 0.45)).toBe('learned');
    expect(learnedVerdict(1, null)).toBe('fits, not tested');
  });
});
