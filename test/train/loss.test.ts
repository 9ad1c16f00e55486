import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { multiTaskLoss, smoothedCrossEntropy } from '../../src/ml/train/loss.ts';

beforeAll(async () => { await tf.setBackend('cpu'); });
const cfg = { partWeight: 1, colorWeight: 0.5, labelSmoothing: 0.1 };

/** -Σ target·log softmax by hand, target = 0.9·onehot + 0.1/C. */
function handCe(logits: number[], label: number, eps: number): number {
  const max = Math.max(...logits);
  const lse = max + Math.log(logits.reduce((s, z) => s + Math.exp(z - max), 0));
  return -logits.reduce((s, z, k) => s + ((k === label ? 1 - eps : 0) + eps / logits.length) * (z - lse), 0);
}

describe('multi-task loss', () => {
  it('label-smoothed cross-entropy equals the hand computation', () => {
    const logits = [[2.0, -1.0, 0.5, 0.0], [0.1, 0.2, 3.0, -2.0]];
    const got = smoothedCrossEntropy(tf.tensor2d(logits), tf.tensor1d([0, 3], 'int32'), 0.1).arraySync();
    expect(got[0]).toBeCloseTo(handCe(logits[0]!, 0, 0.1), 5);
    expect(got[1]).toBeCloseTo(handCe(logits[1]!, 3, 0.1), 5);
  });

  it('a batch with no known color has color loss exactly 0, not NaN, and total = part loss', () => {
    const part = tf.tensor2d([[1, 0, 0], [0, 2, 0]]);
    const color = tf.tensor2d([[5, -5], [-5, 5]]);
    const l = multiTaskLoss(part, color, { partIndex: tf.tensor1d([0, 1], 'int32'), colorIndex: tf.tensor1d([-1, -1], 'int32'), weight: tf.tensor1d([1, 3]) }, cfg);
    expect(l.color.dataSync()[0]).toBe(0);
    expect(l.total.dataSync()[0]).toBeCloseTo(l.part.dataSync()[0]!, 6);
    expect(Number.isFinite(l.total.dataSync()[0])).toBe(true);
  });

  it('unknown colors are left out of the color loss and sample weights weight both heads', () => {
    const part = [[1, 0, 0], [0, 2, 0], [0, 0, -1]];
    const color = [[2, 0], [0, 1], [9, -9]];
    const l = multiTaskLoss(tf.tensor2d(part), tf.tensor2d(color), {
      partIndex: tf.tensor1d([0, 1, 2], 'int32'), colorIndex: tf.tensor1d([0, 1, -1], 'int32'), weight: tf.tensor1d([1, 3, 1]),
    }, cfg);
    const p = (1 * handCe(part[0]!, 0, 0.1) + 3 * handCe(part[1]!, 1, 0.1) + 1 * handCe(part[2]!, 2, 0.1)) / 5;
    const c = (1 * handCe(color[0]!, 0, 0.1) + 3 * handCe(color[1]!, 1, 0.1)) / 4;
    expect(l.part.dataSync()[0]).toBeCloseTo(p, 5);
    expect(l.color.dataSync()[0]).toBeCloseTo(c, 5);
    expect(l.total.dataSync()[0]).toBeCloseTo(p + 0.5 * c, 5);
  });

  it('option B: colors from sources the color model does not learn from are masked too', () => {
    const l = multiTaskLoss(tf.tensor2d([[1, 0]]), tf.tensor2d([[0, 3]]), {
      partIndex: tf.tensor1d([0], 'int32'), colorIndex: tf.tensor1d([0], 'int32'), weight: tf.tensor1d([1]), colorAllowed: tf.tensor1d([0]),
    }, cfg);
    expect(l.color.dataSync()[0]).toBe(0);
  });
});
