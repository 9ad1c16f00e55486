import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../src/ml/backend/wasm-training-kernels.ts';

registerWasmTrainingKernels();

/** One training-mode pass of a BatchNorm + swish pair: output, input/gamma/beta gradients and the moving statistics after it. */
async function bnSwishStep(backend: 'cpu' | 'wasm', shape: number[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const c = shape[shape.length - 1]!;
  const bn = tf.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-3 });
  const act = tf.layers.activation({ activation: 'swish' });
  const x = tf.add(tf.mul(tf.sin(tf.reshape(tf.range(0, tf.util.sizeFromShape(shape)), shape)), 3), 1);
  bn.build(x.shape);
  bn.setWeights([tf.linspace(0.5, 1.5, c), tf.linspace(-0.2, 0.2, c), tf.zeros([c]), tf.ones([c])]);
  const forward = (x: tf.Tensor): tf.Tensor => act.apply(bn.apply(x, { training: true }) as tf.Tensor) as tf.Tensor;
  const weights = tf.tidy(() => tf.cos(tf.reshape(tf.range(0, x.size), x.shape)));
  const y = tf.tidy(() => forward(x));
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(forward(x), weights)) as tf.Scalar, bn.trainableWeights.map((w) => w.read() as tf.Variable));
  const dx = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(forward(x), weights)))(x);
  const moving = bn.getWeights().slice(2);
  return [y, dx, ...Object.values(grads), ...moving].map((t) => t.dataSync() as Float32Array);
}

describe('fused BatchNorm and swish on wasm', () => {
  // 6 channels run the JS loops; 8 and 20 (channels a multiple of 4) the SIMD ones, over more pixels than one f32 block of 64.
  it.each([[[4, 5, 5, 6]], [[16, 12]], [[4, 9, 9, 8]], [[3, 7, 7, 20]]])('give the same outputs, gradients and moving statistics as tfjs on cpu for shape %j', async (shape) => {
    const cpu = await bnSwishStep('cpu', shape);
    const wasm = await bnSwishStep('wasm', shape);
    expect(wasm).toHaveLength(cpu.length);
    cpu.forEach((a, k) => {
      const b = wasm[k]!;
      expect(b.length).toBe(a.length);
      let worst = 0;
      a.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b[i]!) / (1 + Math.abs(v)))));
      expect(worst, `output ${k}`).toBeLessThan(1e-4);
    });
  });

  it('leaves inference mode to tfjs (moving statistics unchanged)', async () => {
    await tf.setBackend('wasm');
    const bn = tf.layers.batchNormalization({});
    const x = tf.randomNormal([3, 4, 4, 5], 0, 1, 'float32', 5);
    bn.apply(x, { training: false });
    const [, , mean, variance] = bn.getWeights();
    expect(Array.from(mean!.dataSync())).toEqual([0, 0, 0, 0, 0]);
    expect(Array.from(variance!.dataSync())).toEqual([1, 1, 1, 1, 1]);
  });
});
