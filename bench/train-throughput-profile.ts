/**
 * Where one training step's time goes, per kernel (tf.profile), on the chosen backend.
 *
 *   node --import tsx bench/train-throughput-profile.ts [--size 64] [--batch 16] [--backend wasm] [--model auto|real|standin]
 *        [--optimizer adamw|adamw-fused|adam] [--warmup 5]   (seconds of unprofiled steps first)
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { selectBackend, type BackendPreference } from '../src/ml/backend/select-backend.ts';
import { simdKernelsVariant } from '../src/ml/backend/simd-kernels.ts';
import { loadBenchModel, makeTrainStep, type BenchOptimizer, type ModelSource } from './train-throughput-step.ts';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '64' },
    batch: { type: 'string', default: '16' },
    backend: { type: 'string', default: 'wasm' },
    model: { type: 'string', default: 'auto' },
    top: { type: 'string', default: '20' },
    optimizer: { type: 'string', default: 'adamw' },
    warmup: { type: 'string', default: '5' },
  },
});
const size = Number(values.size);
const batch = Number(values.batch);
await selectBackend(values.backend as BackendPreference);
const bm = await loadBenchModel(size, values.model as ModelSource | 'auto');
console.log(`model: ${bm.note}; ${bm.model.countParams()} parameters; ${size}x${size}, batch ${batch}`);
const { step } = makeTrainStep(bm.model, batch, size, values.optimizer as BenchOptimizer);
// Warm-up, as bench/train-throughput.ts does: the first steps grow the wasm heap, set up
// XNNPACK's operators and run V8's unoptimised JS; a profile of the second step (what this
// bench took before) put some kernels at 2-6x their steady cost.
const warmStart = performance.now();
for (let i = 0; i < 2 || performance.now() - warmStart < Number(values.warmup) * 1000; i++) await step();
const plainStart = performance.now();
await step();
const plainMs = performance.now() - plainStart;
const t0 = performance.now();
const info = await tf.profile(() => step());
const wall = performance.now() - t0;

const byKernel = new Map<string, { ms: number; calls: number }>();
for (const k of info.kernels) {
  const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
  const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
  e.ms += ms;
  e.calls += 1;
  byKernel.set(k.name, e);
}
// customGrad ops are profiled as scopes ('unnamed scope', 'fusedConv2d__op') around kernels
// that are profiled too: they are listed, but not counted in the total.
const isKernel = (name: string): boolean => tf.getKernel(name, tf.getBackend()) !== undefined;
const total = [...byKernel.entries()].reduce((s, [name, e]) => s + (isKernel(name) ? e.ms : 0), 0);
const rows = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms);
console.log(`SIMD kernels: ${simdKernelsVariant() ?? 'not loaded'} build (fma: fused multiply-adds; BRICKFLOW_WASM_FMA=0 for the plain one)`);
console.log(`step ${plainMs.toFixed(0)} ms unprofiled; ${wall.toFixed(0)} ms under the profiler (kernels ${total.toFixed(0)} ms, ${info.kernels.length} calls, peak ${(info.peakBytes / 2 ** 20).toFixed(0)} MiB)`);
console.log('| kernel | ms | calls | share |\n|---|---:|---:|---:|');
for (const [name, e] of rows.slice(0, Number(values.top))) {
  const share = isKernel(name) ? `${((100 * e.ms) / total).toFixed(1)}%` : '(scope: its kernels are counted)';
  console.log(`| ${name} | ${e.ms.toFixed(1)} | ${e.calls} | ${share} |`);
}
