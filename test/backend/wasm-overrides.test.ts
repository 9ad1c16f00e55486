import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels, WASM_KERNEL_OVERRIDES } from '../../src/ml/backend/wasm-training-kernels.ts';

beforeAll(async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
});

describe('wasm Identity shares memory', () => {
  it('a clone points at the same heap memory and keeps its values after the original is disposed', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const x = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const y = x.clone();
    expect(backend.dataIdMap.get(y.dataId)!.memoryOffset).toBe(backend.dataIdMap.get(x.dataId)!.memoryOffset);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(y.shape).toEqual([2, 3]);
    y.dispose();
  });
});

describe('Mean on wasm', () => {
  it.each([
    { shape: [3, 5, 7, 8], axes: [1, 2], keepDims: false }, // global average pool: the SIMD kernel
    { shape: [2, 9, 9, 12], axes: [2, 1], keepDims: true },
    { shape: [2, 3, 4, 5, 8], axes: [1, 2, 3], keepDims: false },
    { shape: [3, 5, 7, 6], axes: [1, 2], keepDims: false }, // 6 channels: wasm's own kernel
    { shape: [3, 5, 7, 8], axes: [3], keepDims: false },
  ])('equals the cpu backend for shape $shape over axes $axes (keepDims $keepDims)', async ({ shape, axes, keepDims }) => {
    const run = async (backend: 'cpu' | 'wasm'): Promise<{ values: Float32Array; shape: number[] }> => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const m = tf.mean(tf.sin(tf.reshape(tf.range(0, tf.util.sizeFromShape(shape)), shape)), axes, keepDims);
        return { values: m.dataSync() as Float32Array, shape: m.shape };
      });
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    expect(wasm.shape).toEqual(cpu.shape);
    cpu.values.forEach((v, i) => expect(wasm.values[i]).toBeCloseTo(v, 6));
  });
});

describe('Mean gradient', () => {
  /** Gradient of a weighted mean over `axes`, on one backend. */
  async function meanGrad(backend: 'cpu' | 'wasm', shape: number[], axes: number[]): Promise<Float32Array> {
    await tf.setBackend(backend);
    return tf.tidy(() => {
      const x = tf.sin(tf.reshape(tf.range(0, tf.util.sizeFromShape(shape)), shape));
      const g = tf.grad((x: tf.Tensor) => {
        const m = tf.mean(x, axes);
        return tf.sum(tf.mul(m, tf.cos(tf.reshape(tf.range(0, m.size), m.shape))));
      })(x);
      return g.dataSync() as Float32Array;
    });
  }

  it.each([
    { shape: [3, 5, 7, 4], axes: [1, 2] }, // global average pool: the wasm kernel
    { shape: [2, 3, 4, 5, 6], axes: [1, 2, 3] },
    { shape: [3, 5, 7, 4], axes: [2] }, // other axes: tfjs-core's formula
    { shape: [6, 4], axes: [0] },
  ])('on wasm equals the cpu backend for shape $shape over axes $axes', async ({ shape, axes }) => {
    const cpu = await meanGrad('cpu', shape, axes);
    const wasm = await meanGrad('wasm', shape, axes);
    expect(wasm.length).toBe(cpu.length);
    cpu.forEach((v, i) => expect(wasm[i]).toBeCloseTo(v, 6));
  });
});

describe('Slice on wasm', () => {
  it('is brickflow\'s kernel: it copies whole runs of the tensor, not one row of channels at a time', () => {
    // wasm's own Slice copies each innermost row on its own (a subarray each): the gradient of
    // every ZeroPadding2D in a training step, ~10% of a step at 96 px.
    expect(tf.getKernel('Slice', 'wasm')?.kernelFunc).toBe(WASM_KERNEL_OVERRIDES.Slice);
  });

  it.each([
    { shape: [4, 9, 9, 8], begin: [0, 0, 0, 0], size: [4, 8, 8, 8] }, // a ZeroPadding2D's gradient
    { shape: [3, 7, 6, 5], begin: [1, 2, 1, 0], size: [2, 3, 4, 5] },
    { shape: [3, 7, 6, 5], begin: [0, 0, 0, 1], size: [3, 7, 6, 3] }, // inner axis cut: runs of 3
    { shape: [2, 5, 6], begin: [1, 0, 0], size: [1, 5, 6] }, // one contiguous block
    { shape: [10], begin: [3], size: [4] },
    { shape: [2, 3, 4, 5, 6], begin: [0, 1, 0, 2, 0], size: [2, 2, 4, 3, 6] },
    { shape: [4, 0, 3], begin: [0, 0, 0], size: [4, 0, 3] },
  ])('equals the cpu backend for $shape from $begin size $size (float32, int32, bool)', async ({ shape, begin, size }) => {
    const run = async (backend: 'cpu' | 'wasm'): Promise<unknown[]> => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const n = tf.util.sizeFromShape(shape);
        const f = tf.reshape(tf.range(0, n), shape);
        return [f, tf.cast(f, 'int32'), tf.greater(tf.sin(f), 0)].map((t) => {
          const s = tf.slice(t, begin, size);
          return { shape: s.shape, dtype: s.dtype, values: Array.from(s.dataSync()) };
        });
      });
    };
    expect(await run('wasm')).toEqual(await run('cpu'));
  });
});

describe('BatchMatMul on wasm', () => {
  it('is brickflow\'s kernel for the dense layers\' gradients', () => {
    // wasm's own BatchMatMul ran a^T.b and a.b^T of the 1280 x 512 head layer at ~2 GFLOP/s (10 and 7.5 ms of a step).
    expect(tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc).toBe(WASM_KERNEL_OVERRIDES.BatchMatMul);
  });

  it.each([
    { a: [16, 24], b: [16, 40], tA: true, tB: false }, // a dense layer's weight gradient x^T.dy: the SIMD GEMM
    { a: [1, 16, 24], b: [1, 16, 40], tA: true, tB: false },
    { a: [16, 40], b: [24, 40], tA: false, tB: true }, // its input gradient dy.W^T: the SIMD GEMM
    { a: [1, 12, 40], b: [1, 16, 40], tA: false, tB: true },
    { a: [16, 24], b: [16, 20], tA: true, tB: false }, // 20 columns: wasm's own kernel
    { a: [6, 40], b: [24, 40], tA: false, tB: true }, // 6 rows: wasm's own kernel
    { a: [8, 24], b: [24, 16], tA: false, tB: false },
    { a: [3, 8, 24], b: [3, 8, 16], tA: true, tB: false }, // a batch of 3: wasm's own kernel
  ])('equals the cpu backend for $a x $b (transposeA $tA, transposeB $tB)', async ({ a, b, tA, tB }) => {
    const run = async (backend: 'cpu' | 'wasm'): Promise<{ shape: number[]; values: Float32Array }> => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.sin(tf.reshape(tf.range(0, tf.util.sizeFromShape(a)), a));
        const y = tf.cos(tf.reshape(tf.range(0, tf.util.sizeFromShape(b)), b));
        const m = tf.matMul(x, y, tA, tB);
        return { shape: m.shape, values: m.dataSync() as Float32Array };
      });
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    expect(wasm.shape).toEqual(cpu.shape);
    cpu.values.forEach((v, i) => expect(wasm.values[i]).toBeCloseTo(v, 4));
  });
});

describe('Conv2D on wasm', () => {
  it('is brickflow\'s kernel for 1x1 convs', () => {
    // XNNPACK re-packs the changed weights every training step and ran the late 1x1 layers
    // (3 x 3 pixels, 1152 <-> 192 channels) at ~20 GFLOP/s against ~34 for the SIMD GEMM.
    expect(tf.getKernel('Conv2D', 'wasm')?.kernelFunc).toBe(WASM_KERNEL_OVERRIDES.Conv2D);
  });

  it.each([
    { x: [4, 3, 3, 24], w: [1, 1, 24, 48], s: 1, pad: 'valid' as const }, // few pixels: the SIMD GEMM
    { x: [4, 3, 3, 48], w: [1, 1, 48, 16], s: 1, pad: 'same' as const },
    { x: [2, 9, 9, 8], w: [1, 1, 8, 16], s: 1, pad: 'valid' as const }, // many pixels (162 = 4 x 40 + 2): XNNPACK
    { x: [2, 8, 8, 8], w: [1, 1, 8, 16], s: 1, pad: 'same' as const }, // many pixels (128): the SIMD GEMM
    { x: [4, 3, 3, 24], w: [1, 1, 24, 12], s: 1, pad: 'valid' as const }, // 12 outputs: XNNPACK
    { x: [2, 7, 7, 6], w: [3, 3, 6, 8], s: 2, pad: 'same' as const },
    { x: [2, 6, 6, 24], w: [1, 1, 24, 48], s: 2, pad: 'valid' as const }, // strided 1x1: XNNPACK
  ])('equals the cpu backend for $x conv $w stride $s $pad', async ({ x, w, s, pad }) => {
    const run = async (backend: 'cpu' | 'wasm'): Promise<{ shape: number[]; values: Float32Array }> => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const xs: tf.Tensor = tf.sin(tf.reshape(tf.range(0, tf.util.sizeFromShape(x)), x));
        const ws: tf.Tensor = tf.cos(tf.reshape(tf.range(0, tf.util.sizeFromShape(w)), w));
        const y = tf.conv2d(xs as tf.Tensor4D, ws as tf.Tensor4D, s, pad);
        return { shape: y.shape, values: y.dataSync() as Float32Array };
      });
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    expect(wasm.shape).toEqual(cpu.shape);
    cpu.values.forEach((v, i) => expect(wasm.values[i]).toBeCloseTo(v, 4));
  });
});
