import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from '../../src/ml/backend/wasm-training-kernels.ts';
import { buildStandInClassifier } from '../../bench/train-throughput-model.ts';

type Grads = Float32Array[];

/** Runs f on a backend and returns its gradients as plain arrays. */
async function on(backend: 'cpu' | 'wasm', f: () => tf.Tensor[]): Promise<Grads> {
  await tf.setBackend(backend);
  const ts = tf.tidy(f);
  const out = ts.map((t) => t.dataSync() as Float32Array);
  tf.dispose(ts);
  return out;
}

/** Largest |a-b| / (1 + |a|) over all gradients. */
function maxRelDiff(a: Grads, b: Grads): number {
  let m = 0;
  a.forEach((ai, k) => ai.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[k]![j]!) / (1 + Math.abs(v))))));
  return m;
}

/** A loss whose gradient differs per output element, so a misplaced tap shows. */
function weightedSum(y: tf.Tensor): tf.Scalar {
  return tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, y.size), y.shape))));
}

beforeAll(async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
});

describe('wasm training kernels', () => {
  it('fill in exactly the gradient kernels tfjs-backend-wasm lacks', () => {
    for (const name of Object.keys(WASM_TRAINING_KERNELS)) expect(tf.getKernel(name, 'wasm'), name).toBeDefined();
    registerWasmTrainingKernels(); // a second call is harmless
  });

  const convCases: { k: number; s: number; pad: 'same' | 'valid'; ci: number; co: number; h?: number }[] = [];
  for (const k of [1, 3, 5]) for (const s of [1, 2]) for (const pad of ['same', 'valid'] as const) {
    convCases.push({ k, s, pad, ci: 5, co: 7 }, { k, s, pad, ci: 9, co: 4 });
  }
  // 1x1 convs with ci % 4 == 0 and co % 8 == 0 take the SIMD x^T.dy filter gradient (162 pixels: two 128-pixel chunks).
  convCases.push({ k: 1, s: 1, pad: 'same', ci: 8, co: 16 }, { k: 1, s: 1, pad: 'valid', ci: 12, co: 24 });
  // ... and with few pixels per channel (2 x 4 x 4 = 32 < 4 x 16), the input gradient dy.W^T takes the SIMD GEMM.
  convCases.push({ k: 1, s: 1, pad: 'same', ci: 16, co: 12, h: 4 }, { k: 1, s: 1, pad: 'valid', ci: 24, co: 8, h: 4 });
  // Many pixels per tap with co % 8 == 0 (the stem): the pixel-major patch matrix and the SIMD GEMM,
  // with 27 taps padded to 28, and with 36 (no padding column).
  convCases.push({ k: 3, s: 2, pad: 'valid', ci: 3, co: 8, h: 17 }, { k: 3, s: 2, pad: 'same', ci: 3, co: 16, h: 20 }, { k: 3, s: 1, pad: 'same', ci: 4, co: 8, h: 12 });
  it.each(convCases)('conv2d gradients match the cpu backend: k=$k stride=$s $pad ci=$ci co=$co h=$h', async (c) => {
    const f = (): tf.Tensor[] => {
      const x = tf.randomNormal([2, c.h ?? 9, c.h ?? 9, c.ci], 0, 1, 'float32', 1);
      const w = tf.randomNormal([c.k, c.k, c.ci, c.co], 0, 1, 'float32', 2);
      return tf.grads((x: tf.Tensor, w: tf.Tensor) => weightedSum(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad)))([x, w]);
    };
    const cpu = await on('cpu', f);
    const wasm = await on('wasm', f);
    expect(maxRelDiff(cpu, wasm)).toBeLessThan(1e-4);
  });

  // 8 channels take the SIMD filter-gradient loop (channel multiplier 1, channels a multiple of 4); 6 the JS one.
  const dwCases: { k: number; s: number; pad: 'same' | 'valid'; mult: number; ch: number; h?: number }[] = [];
  for (const k of [1, 3, 5]) for (const s of [1, 2]) for (const pad of ['same', 'valid'] as const) {
    dwCases.push({ k, s, pad, mult: 1, ch: 6 }, { k, s, pad, mult: 2, ch: 6 }, { k, s, pad, mult: 1, ch: 8 });
  }
  // Strided, channels a multiple of 4: the input gradient scattered straight into dx, on odd sizes too.
  dwCases.push({ k: 3, s: 2, pad: 'same', mult: 1, ch: 8, h: 11 }, { k: 5, s: 2, pad: 'valid', mult: 1, ch: 12, h: 11 }, { k: 5, s: 3, pad: 'same', mult: 1, ch: 4, h: 13 });
  it.each(dwCases)('depthwise conv gradients match the cpu backend: k=$k stride=$s $pad multiplier=$mult channels=$ch h=$h', async (c) => {
    const f = (): tf.Tensor[] => {
      const x = tf.randomNormal([2, c.h ?? 10, c.h ?? 10, c.ch], 0, 1, 'float32', 3);
      const w = tf.randomNormal([c.k, c.k, c.ch, c.mult], 0, 1, 'float32', 4);
      return tf.grads((x: tf.Tensor, w: tf.Tensor) => weightedSum(tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad)))([x, w]);
    };
    const cpu = await on('cpu', f);
    const wasm = await on('wasm', f);
    expect(maxRelDiff(cpu, wasm)).toBeLessThan(1e-4);
  });

  it('a training step of an EfficientNet-style model gets the same weight gradients on wasm as on cpu', async () => {
    // Stem, block1a (no expand) and block2a/2b (expand, stride-2 ZeroPadding + valid depthwise, SE, residual)
    const grads = async (backend: 'cpu' | 'wasm'): Promise<Map<string, Float32Array>> => {
      await tf.setBackend(backend);
      const model = buildStandInClassifier({ inputSize: 32, nParts: 5, nColors: 3, maxBlocks: 3, widthMultiplier: 0.25, dropConnectRate: 0, headDropout: 0 });
      // Same weights on both backends: deterministic values by position.
      model.setWeights(model.getWeights().map((w, i) => tf.mul(tf.sin(tf.add(tf.range(0, w.size).reshape(w.shape), i)), 0.3)));
      const x = tf.sin(tf.reshape(tf.range(0, 2 * 32 * 32 * 3), [2, 32, 32, 3]));
      const yp = tf.oneHot(tf.tensor1d([1, 4], 'int32'), 5);
      const { grads } = tf.variableGrads(() => {
        // training: true so BatchNorm uses batch statistics, as in training; dropout rates are 0 so both runs agree.
        const [p] = model.apply(x, { training: true }) as tf.Tensor[];
        return tf.losses.softmaxCrossEntropy(yp, p!) as tf.Scalar;
      });
      const out = new Map<string, Float32Array>();
      for (const [name, g] of Object.entries(grads)) out.set(name.replace(/_\d+$/, ''), g.dataSync() as Float32Array);
      tf.dispose([x, yp, ...Object.values(grads)]);
      model.dispose();
      return out;
    };
    const cpu = await grads('cpu');
    const wasm = await grads('wasm');
    expect(cpu.size).toBeGreaterThan(20);
    let worst = 0;
    for (const [name, g] of cpu) worst = Math.max(worst, maxRelDiff([g], [wasm.get(name)!]));
    expect(worst).toBeLessThan(1e-3);
  });
});
