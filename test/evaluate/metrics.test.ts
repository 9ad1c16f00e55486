import { describe, expect, it } from 'vitest';
import { evaluateClassifier, defaultEvaluationOptions, type EvaluationInput } from '../../src/ml/metrics/evaluate-classifier.ts';
import { flatMetrics } from '../../src/ml/metrics/metrics-file.ts';
import { predictedClass, scoreLogits, topClasses, trueClassRank } from '../../src/ml/metrics/ranking.ts';
import { wilsonInterval, bootstrapInterval } from '../../src/ml/metrics/intervals.ts';

const options = { ...defaultEvaluationOptions, resamples: 500 };

/** Builds an input from per-sample logit rows. */
function input(partRows: number[][], partIndex: number[], colorRows: number[][], colorIndex: number[]): EvaluationInput {
  return {
    partLogits: Float32Array.from(partRows.flat()),
    colorLogits: Float32Array.from(colorRows.flat()),
    partIndex: Int32Array.from(partIndex),
    colorIndex: Int32Array.from(colorIndex),
    nParts: partRows[0]!.length,
    nColors: colorRows[0]!.length,
  };
}

const labels = { parts: ['3001', '3003', '3004', '3020', '3022', '3023', '3069b'], colors: [{ id: 0, name: 'Black' }, { id: 71, name: 'Light Bluish Gray' }, { id: 72, name: 'Dark Bluish Gray' }] };

describe('top-k with ties', () => {
  it('counts a class tied with the true class as ranked ahead of it', () => {
    const row = Float32Array.from([0.5, 0.5, 0.1]);
    expect(trueClassRank(row, 3, 0, 0)).toBe(2);
    expect(trueClassRank(row, 3, 0, 1)).toBe(2);
    expect(predictedClass(row, 3, 0, 0)).toBe(1);
    expect(predictedClass(row, 3, 0, 1)).toBe(0);
    expect(predictedClass(row, 3, 0, 2)).toBe(0);
  });

  it('misses top-5 when five other parts tie with the true part, and hits when four do', () => {
    // 7 parts; true part 6 has logit 1; in row A five others also have 1 (rank 6), in row B four (rank 5).
    const e = evaluateClassifier(
      input(
        [
          [1, 1, 1, 1, 1, 0, 1],
          [1, 1, 1, 1, 0, 0, 1],
          [0, 0, 0, 0, 0, 0, 9],
          [9, 0, 0, 0, 0, 0, 8],
        ],
        [6, 6, 6, 6],
        [[1, 0, 0], [1, 0, 0], [1, 0, 0], [1, 0, 0]],
        [0, 0, 0, 0],
      ),
      options,
    );
    expect(Array.from(e.partRank)).toEqual([6, 5, 1, 2]);
    expect(e.partTopK.value).toBe(3 / 4);
    expect(e.partTop1.value).toBe(1 / 4);
  });

  it('training validation and train-fit score as evaluate does: the same tie rule for top-1, top-k and color', () => {
    const x = input(
      [[1, 1, 1, 1, 1, 0, 1], [1, 1, 1, 1, 0, 0, 1], [0, 0, 0, 0, 0, 0, 9], [9, 0, 0, 0, 0, 0, 8], [2, 2, 2, 2, 2, 2, 2]],
      [6, 6, 6, 6, 3],
      [[1, 1, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]],
      [0, 0, 1, -1, 2],
    );
    const e = evaluateClassifier(x, options);
    const s = scoreLogits(x, x.partIndex, x.colorIndex, 5);
    expect([s.part_top1, s.part_topk, s.color_acc, s.n, s.n_known_color]).toEqual([e.partTop1.value, e.partTopK.value, e.colorAccuracy.value, 5, 4]);
    expect(s.color_acc).toBe(2 / 4); // the [1, 1, 0] tie on the true color counts as a miss
    // serve's top-5: best first, equal scores by lower index.
    expect(topClasses([0.1, 0.4, 0.4, 0.05, 0.3], 3)).toEqual([1, 2, 4]);
  });

  it('scores a model that outputs the same logit for every class as 0 top-1, not 1/C', () => {
    const e = evaluateClassifier(input([[2, 2, 2], [2, 2, 2], [2, 2, 2]], [0, 1, 2], [[0, 0], [0, 0], [0, 0]], [0, 1, 0]), options);
    expect(e.partTop1.value).toBe(0);
    expect(e.colorAccuracy.value).toBe(0);
    expect(e.partConfusion.flat().reduce((a, b) => a + b)).toBe(3);
    expect([0, 1, 2].map((i) => e.partConfusion[i]![i])).toEqual([0, 0, 0]);
  });

  it('counts a NaN true logit as a miss', () => {
    const e = evaluateClassifier(input([[NaN, 0, 0], [1, 0, 0]], [0, 0], [[1, 0], [1, 0]], [0, 0]), options);
    expect(Array.from(e.partRank)).toEqual([3, 1]);
    expect(e.partTop1.value).toBe(0.5);
  });

  it('caps k at the number of parts', () => {
    const e = evaluateClassifier(input([[0, 1, 2]], [0], [[1]], [0]), options);
    expect(e.topK).toBe(3);
    expect(e.partTopK.value).toBe(1);
  });
});

describe('color accuracy on known colors', () => {
  it('leaves unknown colors out and counts them', () => {
    const e = evaluateClassifier(
      input([[1, 0], [1, 0], [1, 0], [1, 0]], [0, 0, 0, 0], [[5, 0, 0], [0, 5, 0], [0, 5, 0], [5, 0, 0]], [0, 2, -1, -1]),
      options,
    );
    expect(e.colorKnownCount).toBe(2);
    expect(e.colorUnknownCount).toBe(2);
    expect(e.colorAccuracy.value).toBe(0.5);
    // Light vs dark bluish gray shows up as a color confusion.
    expect(e.colorPairs.map((p) => [p.trueIndex, p.predictedIndex, p.samples])).toEqual([[2, 1, [1]]]);
  });

  it('writes color_acc as null (so its gate fails) when every color is unknown', () => {
    const e = evaluateClassifier(input([[1, 0], [0, 1]], [0, 1], [[1, 0, 0], [0, 1, 0]], [-1, -1]), options);
    const flat = flatMetrics(e, labels);
    expect(flat.color_acc).toBeNull();
    expect(flat.color_acc_ci_low).toBeNull();
    expect(flat.color_macro_acc).toBeNull();
    expect(flat.color_unknown_count).toBe(2);
    expect(flat.color_known_count).toBe(0);
    expect(flat.part_top1).toBe(1);
    expect(JSON.parse(JSON.stringify(flat)).color_acc).toBeNull();
  });
});

describe('per-class, macro and micro', () => {
  // 3 parts; part 2 never appears in the test split. Part 0: 3 of 4 right; part 1: 1 of 2 right.
  const e = evaluateClassifier(
    input(
      [
        [9, 0, 0],
        [9, 0, 0],
        [9, 0, 0],
        [0, 9, 0],
        [0, 9, 0],
        [0, 0, 9],
      ],
      [0, 0, 0, 0, 1, 1],
      [[1], [1], [1], [1], [1], [1]],
      [0, 0, 0, 0, 0, 0],
    ),
    options,
  );

  it('reports a part absent from the test split with no accuracy and leaves it out of the macro mean', () => {
    const absent = e.perPart[2]!;
    expect(absent.support).toBe(0);
    expect(absent.recall).toBeNull();
    expect(absent.recallInterval).toBeNull();
    expect(absent.predicted).toBe(1);
    expect(absent.precision).toBe(0);
    expect(flatMetrics(e, labels).parts_absent_from_test).toBe(1);
  });

  it('computes per-part accuracy, precision and F1 by hand', () => {
    const [p0, p1] = e.perPart;
    expect([p0!.support, p0!.correct, p0!.predicted, p0!.recall, p0!.precision]).toEqual([4, 3, 3, 0.75, 1]);
    expect(p0!.f1).toBeCloseTo((2 * 1 * 0.75) / 1.75, 12);
    expect([p1!.support, p1!.correct, p1!.predicted, p1!.recall, p1!.precision, p1!.f1]).toEqual([2, 1, 2, 0.5, 0.5, 0.5]);
  });

  it('distinguishes micro accuracy (pooled) from macro accuracy (mean over present parts)', () => {
    expect(e.partTop1.value).toBeCloseTo(4 / 6, 12);
    expect(e.partMacroAccuracy.value).toBeCloseTo((0.75 + 0.5) / 2, 12);
    expect(e.partMacroF1).toBeCloseTo((6 / 7 + 0.5) / 2, 12);
  });

  it('ranks the worst examples misses first, least confident first', () => {
    expect(e.worstParts.slice(0, 2).map((w) => w.sample).sort()).toEqual([3, 5]);
    expect(e.worstParts[0]!.rank).toBe(3); // the wrong part wins and the third ties with the true one
    expect(e.worstParts[2]!.rank).toBe(1);
  });
});

describe('confidence intervals', () => {
  it('matches the textbook Wilson interval for 8 of 10', () => {
    const w = wilsonInterval(8, 10, 0.95)!;
    expect(w.low).toBeCloseTo(0.4902, 4);
    expect(w.high).toBeCloseTo(0.9433, 4);
  });

  it('gives a bootstrap interval that brackets the estimate, is reproducible by seed and narrows with more data', () => {
    const hits = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : 1)); // 80% right
    const stat = (h: Uint8Array) => (idx: Int32Array) => idx.reduce((s, i) => s + h[i]!, 0) / idx.length;
    const opts = { resamples: 2000, confidence: 0.95, seed: 7 };
    const small = bootstrapInterval(50, stat(hits(50)), opts)!;
    const large = bootstrapInterval(1000, stat(hits(1000)), opts)!;
    expect(small.low).toBeLessThan(0.8);
    expect(small.high).toBeGreaterThan(0.8);
    expect(bootstrapInterval(50, stat(hits(50)), opts)).toEqual(small);
    expect(large.high - large.low).toBeLessThan((small.high - small.low) / 3);
    // Normal approximation for n = 50: 0.8 ± 1.96 * sqrt(0.16 / 50) = ± 0.111.
    expect(small.high - small.low).toBeGreaterThan(0.17);
    expect(small.high - small.low).toBeLessThan(0.27);
  });

  it('has no interval for an empty split and a point interval when every sample is right', () => {
    expect(bootstrapInterval(0, () => 1, { resamples: 10, confidence: 0.95, seed: 1 })).toBeNull();
    const e = evaluateClassifier(input([[1, 0], [0, 1]], [0, 1], [[1], [1]], [0, 0]), options);
    expect(e.partTop1.interval).toEqual({ low: 1, high: 1 });
  });
});
