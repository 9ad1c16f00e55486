/**
 * Times single wasm training kernels at the shapes of B0 at 96 px, batch 16, to compare
 * implementations: run once as is and once with BRICKFLOW_WASM_SIMD=0 (the JS / XNNPACK
 * paths the SIMD loops replace).
 *
 *   node --import tsx bench/train-throughput-kernels.ts [--reps 10]
 *   BRICKFLOW_WASM_SIMD=0 node --import tsx bench/train-throughput-kernels.ts
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { selectBackend } from '../src/ml/backend/select-backend.ts';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '10' } } });
const reps = Number(values.reps);
await selectBackend('wasm', { log: null, env: {} });
const mode = process.env.BRICKFLOW_WASM_SIMD === '0' ? 'without SIMD loops' : 'with SIMD loops';

function time(label: string, f: () => tf.Tensor | tf.Tensor[]): void {
  tf.dispose(f()); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) {
    const r = f();
    (Array.isArray(r) ? r[0]! : r).dataSync();
    tf.dispose(r);
  }
  console.log(`${mode}: ${label}: ${((performance.now() - t0) / reps).toFixed(2)} ms`);
}

for (const [N, H, CI, CO] of [[16, 48, 16, 96], [16, 24, 144, 24], [16, 24, 24, 144], [16, 6, 672, 192]] as const) {
  const x = tf.randomNormal([N, H, H, CI]);
  const dy = tf.randomNormal([N, H, H, CO]);
  time(`Conv2DBackpropFilter 1x1 [${N},${H},${H},${CI}] -> ${CO}`, () =>
    tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: [1, 1, CI, CO] }) as tf.Tensor);
  tf.dispose([x, dy]);
}
for (const [N, H, C] of [[16, 48, 96], [16, 24, 144], [16, 12, 240]] as const) {
  const x = tf.randomNormal([N, H, H, C]);
  const dy = tf.randomNormal([N, H, H, C]);
  time(`DepthwiseConv2dNativeBackpropFilter 3x3 [${N},${H},${H},${C}]`, () =>
    tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { strides: 1, dilations: 1, pad: 'same', filterShape: [3, 3, C, 1] }) as tf.Tensor);
  tf.dispose([x, dy]);
}
for (const [N, H, C] of [[16, 48, 96], [16, 12, 480], [16, 3, 1152]] as const) {
  const x = tf.randomNormal([N, H, H, C]);
  time(`Mean over H, W (global average pool) [${N},${H},${H},${C}]`, () => tf.mean(x, [1, 2]));
  tf.dispose(x);
}
for (const [N, H, CI, CO] of [[16, 12, 480, 80], [16, 3, 1152, 320]] as const) {
  const dy = tf.randomNormal([N, H, H, CO]);
  const w = tf.randomNormal([1, 1, CI, CO]);
  time(`Conv2DBackpropInput 1x1 [${N},${H},${H},${CO}] -> ${CI}`, () =>
    tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', inputShape: [N, H, H, CI] }) as tf.Tensor);
  tf.dispose([dy, w]);
}
