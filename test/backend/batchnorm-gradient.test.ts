import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../src/ml/backend/wasm-training-kernels.ts';

registerWasmTrainingKernels(); // installs the broadcast FusedBatchNorm gradient

describe('FusedBatchNorm gradient (broadcast, no Tile)', () => {
  it.each(['cpu', 'wasm'])('matches the gradient of the same formula written with elementary ops on %s', async (backend) => {
    await tf.setBackend(backend);
    const x = tf.sin(tf.reshape(tf.range(0, 2 * 3 * 3 * 4), [2, 3, 3, 4]));
    const mean = tf.tensor1d([0.1, -0.2, 0.3, 0]);
    const variance = tf.tensor1d([0.5, 1, 2, 0.25]);
    const offset = tf.tensor1d([0, 0.1, 0.2, 0.3]);
    const scale = tf.tensor1d([1.5, -1, 0.5, 2]);
    const w = tf.cos(tf.reshape(tf.range(0, x.size), x.shape));
    const loss = (y: tf.Tensor): tf.Scalar => tf.sum(tf.mul(y, w));
    const args = [x, mean, variance, offset, scale];
    const fused = tf.grads((x, m, v, o, s) => loss(tf.batchNorm(x!, m!, v!, o!, s!, 1e-3)))(args);
    const plain = tf.grads((x, m, v, o, s) => loss(tf.add(tf.mul(tf.mul(tf.sub(x!, m!), tf.rsqrt(tf.add(v!, 1e-3))), s!), o!)))(args);
    fused.forEach((g, i) => {
      const a = g.dataSync();
      const b = plain[i]!.dataSync();
      a.forEach((v, j) => expect(v, `input ${i} element ${j}`).toBeCloseTo(b[j]!, 4));
    });
  });
});
