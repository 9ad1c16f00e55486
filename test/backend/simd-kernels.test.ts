import { describe, expect, it, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { simdKernels, simdKernelsVariant } from '../../src/ml/backend/simd-kernels.ts';
import { compileSimdKernels, FMA_WASM_PATH, WAT_PATH, WASM_PATH, withFusedMultiplyAdd } from '../../src/ml/backend/build-simd-kernels.ts';

beforeAll(async () => {
  await tf.setBackend('wasm');
});

describe('SIMD kernels on the wasm heap', () => {
  it('the committed simd-kernels.wasm and simd-kernels-fma.wasm are what simd-kernels.wat compiles to', async () => {
    expect(Buffer.from(await compileSimdKernels('plain')).equals(readFileSync(WASM_PATH))).toBe(true);
    expect(Buffer.from(await compileSimdKernels('fma')).equals(readFileSync(FMA_WASM_PATH))).toBe(true);
  });

  it('run with fused multiply-adds in the GEMMs on this Node (relaxed SIMD)', () => {
    // Every multiply-accumulate of the GEMMs' register blocks is fused in the fma build.
    const wat = readFileSync(WAT_PATH, 'utf8');
    const accumulations = wat.match(/\(f32x4\.add \(local\.get \$a\d\d\) \(f32x4\.mul/g)?.length ?? 0;
    expect(accumulations).toBe(16); // gemmAtB and gemmAB, 8 each
    expect(withFusedMultiplyAdd(wat).match(/f32x4\.relaxed_madd/g)?.length).toBe(accumulations);
    expect(simdKernels(tf.backend() as BackendWasm)).not.toBeNull();
    expect(simdKernelsVariant()).toBe('fma');
  });

  it('a 1x1 conv over few pixels gives the same output with and without fused multiply-adds, to float rounding', async () => {
    const run = (): Float32Array => tf.tidy(() => {
      const x: tf.Tensor = tf.sin(tf.reshape(tf.range(0, 4 * 3 * 3 * 64), [4, 3, 3, 64]));
      const w: tf.Tensor = tf.cos(tf.reshape(tf.range(0, 64 * 32), [1, 1, 64, 32]));
      return tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid').dataSync() as Float32Array;
    });
    const fused = run();
    await tf.setBackend('cpu');
    const cpu = run();
    await tf.setBackend('wasm');
    cpu.forEach((v, i) => expect(Math.abs(fused[i]! - v)).toBeLessThan(1e-4 * (1 + Math.abs(v))));
  });

  it('bind to the wasm backend and compute the swish gradient in place, including a tail shorter than 4 floats', () => {
    const simd = simdKernels(tf.backend() as BackendWasm);
    expect(simd).not.toBeNull();
    const x = tf.tensor1d([-3, -1, -0.5, 0, 0.5, 1, 2, 4, 7]);
    const s = tf.sigmoid(x);
    const dy = tf.tensor1d([1, 2, -1, 0.5, 3, -2, 1, 1, 0.25]);
    const dx = tf.zerosLike(x);
    simd!.fns.swishGrad(simd!.ptr(dy), simd!.ptr(x), simd!.ptr(s), simd!.ptr(dx), x.size);
    const [xv, sv, dyv, dxv] = [x, s, dy, dx].map((t) => t.dataSync());
    xv!.forEach((xi, i) => expect(dxv![i]).toBeCloseTo(dyv![i]! * sv![i]! * (1 + xi * (1 - sv![i]!)), 5));
  });

  it('sum per channel over many pixels (several f32 blocks) as an f64 loop does', () => {
    const simd = simdKernels(tf.backend() as BackendWasm)!;
    const P = 300;
    const C = 12;
    const a = tf.randomNormal([P, C], 2, 1, 'float32', 7);
    const b = tf.randomNormal([P, C], -1, 3, 'float32', 8);
    const block = simd.alloc(32 * C);
    simd.f64(block, 2 * C).fill(0);
    simd.fns.sum2(simd.ptr(a), simd.ptr(b), P, C, block, block + 8 * C, block + 16 * C);
    const sumA = Array.from(simd.f64(block, C));
    const sumAB = Array.from(simd.f64(block + 8 * C, C));
    simd.free(block);
    const av = a.dataSync();
    const bv = b.dataSync();
    for (let c = 0; c < C; c++) {
      let ea = 0;
      let eab = 0;
      for (let p = 0; p < P; p++) {
        ea += av[p * C + c]!;
        eab += av[p * C + c]! * bv[p * C + c]!;
      }
      expect(Math.abs(sumA[c]! - ea)).toBeLessThan(1e-3);
      expect(Math.abs(sumAB[c]! - eab)).toBeLessThan(1e-2);
    }
  });

  it('transpose a matrix of 8 x 12 floats in 4 x 4 blocks', () => {
    const simd = simdKernels(tf.backend() as BackendWasm)!;
    const a = tf.reshape(tf.range(0, 96, 1, 'float32'), [8, 12]);
    const out = tf.zeros([12, 8]);
    simd.fns.transpose(simd.ptr(a), 8, 12, simd.ptr(out));
    expect(Array.from(out.dataSync())).toEqual(Array.from(tf.transpose(a).dataSync()));
  });
});
