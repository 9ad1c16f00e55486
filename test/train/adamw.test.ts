import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdamW } from '../../src/ml/train/adamw.ts';

beforeAll(async () => { await tf.setBackend('cpu'); });

describe('AdamW', () => {
  it('one step matches the decoupled-weight-decay formula for a kernel, and skips decay for a bias', () => {
    const kernel = tf.variable(tf.tensor2d([[0.5, -1.0], [2.0, 0.0]]), true, 'k_test');
    const bias = tf.variable(tf.tensor1d([0.5, -1.0]), true, 'b_test');
    const g = [0.1, -0.2, 0.3, 0.0];
    const gb = [0.1, -0.2];
    const opt = new AdamW({ weightDecay: 0.01 });
    const lr = 0.001, b1 = 0.9, b2 = 0.999, eps = 1e-7;
    opt.apply([kernel, bias], { k_test: tf.tensor2d(g, [2, 2]), b_test: tf.tensor1d(gb) }, lr);
    const expected = (theta: number, grad: number, decay: boolean) => {
      const mHat = ((1 - b1) * grad) / (1 - b1);
      const vHat = ((1 - b2) * grad * grad) / (1 - b2);
      return theta - (decay ? lr * 0.01 * theta : 0) - (lr * mHat) / (Math.sqrt(vHat) + eps);
    };
    const k = kernel.dataSync();
    [0.5, -1.0, 2.0, 0.0].forEach((t, i) => expect(k[i]).toBeCloseTo(expected(t, g[i]!, true), 6));
    const b = bias.dataSync();
    [0.5, -1.0].forEach((t, i) => expect(b[i]).toBeCloseTo(expected(t, gb[i]!, false), 6));
    // A zero gradient still shrinks a kernel weight: the decay does not go through the moments.
    expect(k[3]).toBe(0);
    expect(k[2]).toBeLessThan(2.0 - 0.001); // 2.0 - lr·λ·2.0 - lr·1
  });

  it('state round-trips so a restored optimizer takes the same next step', () => {
    const make = () => tf.variable(tf.tensor2d([[1, 2], [3, 4]]), true, `w_${Math.random()}`);
    const a = make();
    const opt = new AdamW({ weightDecay: 0.01 });
    const grad = (v: tf.Variable) => ({ [v.name]: tf.tensor2d([[0.1, 0.2], [-0.3, 0.4]]) });
    opt.apply([a], grad(a), 0.01);
    const saved = Object.fromEntries(Object.entries(opt.state()).map(([k, t]) => [k, t.clone()]));
    const b = tf.variable(a.clone(), true, a.name.replace('w_', 'w2_'));
    const restored = new AdamW({ weightDecay: 0.01 });
    restored.restore(Object.fromEntries(Object.entries(saved).map(([k, t]) => [k.replace(a.name, b.name), t])), opt.step);
    opt.apply([a], grad(a), 0.01);
    restored.apply([b], grad(b), 0.01);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
  });
});
