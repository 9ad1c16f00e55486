import { describe, expect, it } from 'vitest';
import { confusedPairs, confusionMatrix } from '../../src/ml/metrics/confusion.ts';

const i32 = (xs: number[]) => Int32Array.from(xs);

describe('confusion matrix', () => {
  it('puts true classes on rows and predictions on columns, skipping unknown labels', () => {
    const m = confusionMatrix(i32([0, 0, 1, 2, -1]), i32([0, 1, 1, 0, 2]), 3);
    expect(m).toEqual([
      [1, 1, 0],
      [0, 1, 0],
      [1, 0, 0],
    ]);
  });
});

describe('confused-pair ranking', () => {
  it('ranks by count, then by share of the true class, then mutual confusion, then index', () => {
    // class:   0 has 4 samples, 1 has 10, 2 has 2, 3 has 2
    // 0->1 x2 (2/4); 1->0 x2 (2/10); 2->3 x1 (1/2); 3->2 x1 (1/2); 1->2 x1 (1/10)
    const labels = [0, 0, 0, 0, ...Array(10).fill(1), 2, 2, 3, 3];
    const preds = [1, 1, 0, 0, 0, 0, 2, 1, 1, 1, 1, 1, 1, 1, 3, 2, 2, 3];
    const pairs = confusedPairs(i32(labels), i32(preds), 4);
    expect(pairs.map((p) => `${p.trueIndex}->${p.predictedIndex}:${p.count}`)).toEqual(['0->1:2', '1->0:2', '2->3:1', '3->2:1', '1->2:1']);
    expect(pairs[0]!.rateOfTrue).toBe(0.5);
    expect(pairs[0]!.reverseCount).toBe(2);
    expect(pairs[4]!.reverseCount).toBe(0);
  });

  it('lists the samples behind each pair so the report can show their images', () => {
    const pairs = confusedPairs(i32([5, 5, 5, 1]), i32([1, 5, 1, 1]), 6);
    expect(pairs).toHaveLength(1);
    expect(pairs[0]).toMatchObject({ trueIndex: 5, predictedIndex: 1, count: 2, samples: [0, 2] });
  });

  it('keeps only the requested number of pairs and none for a perfect model', () => {
    expect(confusedPairs(i32([0, 1, 2]), i32([1, 2, 0]), 3, 2)).toHaveLength(2);
    expect(confusedPairs(i32([0, 1, 2]), i32([0, 1, 2]), 3)).toEqual([]);
  });
});
