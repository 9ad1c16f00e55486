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

describe('convolutions without bias or activation on wasm', () => {
  /** A stem-like 3x3 stride-2 conv on the input, then a 1x1 conv; the kernels of one training step's gradients. */
  async function convGrads(backend: 'cpu' | 'wasm'): Promise<{ grads: Float32Array[]; kernels: string[] }> {
    await tf.setBackend(backend);
    const input = tf.input({ shape: [9, 9, 3] });
    const stem = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
    const out = tf.layers.conv2d({ filters: 4, kernelSize: 1, useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(stem) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    const x = tf.sin(tf.reshape(tf.range(0, 2 * 9 * 9 * 3), [2, 9, 9, 3]));
    let grads: Float32Array[] = [];
    const info = await tf.profile(() => {
      const { value, grads: g } = tf.variableGrads(() => tf.sum(tf.square(model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar);
      grads = model.trainableWeights.map((w) => g[w.originalName]!.dataSync() as Float32Array);
      tf.dispose([value, ...Object.values(g)]);
    });
    return { grads, kernels: info.kernels.map((k) => k.name) };
  }

  it('compute no input gradient for the model\'s first layer (the image needs none), and the same filter gradients as on cpu', async () => {
    const wasm = await convGrads('wasm');
    // tfjs' fused conv returns both gradients of a conv at once, so the stem's input gradient
    // ([16, 97, 97, 3] at 96 px, ~20 ms of a step) was computed and thrown away.
    expect(wasm.kernels.filter((k) => k === 'Conv2DBackpropInput')).toHaveLength(1);
    expect(wasm.kernels.filter((k) => k === 'Conv2DBackpropFilter')).toHaveLength(2);
    const cpu = await convGrads('cpu');
    cpu.grads.forEach((a, k) => a.forEach((v, i) => expect(wasm.grads[k]![i]).toBeCloseTo(v, 4)));
  });
});
