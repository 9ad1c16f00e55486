/**
 * Inference speed of the exported classifier: ONNX Runtime (batch-1 latency, 1 thread and all
 * threads, and batch throughput) beside the same model in tfjs on wasm, and beside the PyTorch
 * peer's forward throughput (/work/shared/reference/torch_bench.py), printed as ratios.
 *
 *   node --import tsx bench/inference-latency.ts [--size 64] [--batch 16] [--parts 200] [--colors 50] [--runs 30] [--model artifacts/model] [--no-torch]
 *
 * Without --model it builds the project's EfficientNet-B0 (width/depth 1.0) with random weights,
 * the same architecture and head sizes torch_bench.py times.
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { selectBackend } from '../src/ml/backend/select-backend.ts';
import { estimateDeviceLatency, timeCalls, type LatencyStats } from '../src/ml/latency.ts';
import { buildClassifier } from '../src/ml/model/classifier.ts';
import { loadModel } from '../src/ml/model/model-io.ts';
import { hostReferenceLatency } from '../src/ml/onnx/device-estimate.ts';
import { openSession } from '../src/ml/onnx/ort-session.ts';
import { exportToOnnx } from '../src/ml/onnx/tfjs-to-onnx.ts';
import { runTorchBench } from './train-throughput-torch.ts';

const { values: a } = parseArgs({
  options: {
    size: { type: 'string', default: '64' },
    batch: { type: 'string', default: '16' },
    parts: { type: 'string', default: '200' },
    colors: { type: 'string', default: '50' },
    runs: { type: 'string', default: '30' },
    model: { type: 'string' },
    'no-torch': { type: 'boolean', default: false },
    'slowdown-factor': { type: 'string', default: '17.5' },
  },
});
const runs = Number(a.runs);
const batch = Number(a.batch);

const model = a.model ? await loadModel(a.model) : buildClassifier({ inputSize: Number(a.size), widthCoefficient: 1, depthCoefficient: 1, dropConnectRate: 0.2, headUnits: 512, headDropout: 0.3, nParts: Number(a.parts), nColors: Number(a.colors), architecture: 'multitask' }).model;
const size = model.inputs[0].shape[1] as number;
const exported = exportToOnnx(model);
console.log(`model: ${model.name}, ${size}x${size}, ${(exported.bytes.length / 1e6).toFixed(1)} MB ONNX, ${exported.nodeCount} nodes; host: ${availableParallelism()} cores (shared)`);

const input = (n: number) => new ort.Tensor('float32', Float32Array.from({ length: n * 3 * size * size }, (_, i) => Math.sin(i) * 0.5), [n, 3, size, size]);
const line = (name: string, s: LatencyStats) => console.log(`${name.padEnd(34)} p50 ${s.p50.toFixed(2).padStart(8)} ms   p95 ${s.p95.toFixed(2).padStart(8)} ms   (${s.runs} runs)`);

const ort1 = await openSession(exported.bytes, 1);
const ortAll = await openSession(exported.bytes, 0);
const ort1Lat = await timeCalls(() => ort1.run({ image: input(1) }), 5, runs);
line('onnxruntime batch 1, 1 thread', ort1Lat);
const ortAllLat = await timeCalls(() => ortAll.run({ image: input(1) }), 5, runs);
line(`onnxruntime batch 1, ${availableParallelism()} threads`, ortAllLat);
const int8Session = await openSession(exportToOnnx(model, { quantizeWeights: true }).bytes, 1, true);
line('onnxruntime int8 weights, 1 thread', await timeCalls(() => int8Session.run({ image: input(1) }), 5, runs));
await int8Session.release();
const ortBatch = await timeCalls(() => ort1.run({ image: input(batch) }), 2, Math.max(5, Math.floor(runs / 3)));
const ortImgS = (batch * 1000) / ortBatch.p50;
console.log(`${`onnxruntime batch ${batch}, 1 thread`.padEnd(34)} ${ortImgS.toFixed(1)} img/s`);

await selectBackend('wasm', { log: null });
const x1 = tf.randomNormal([1, size, size, 3]);
const xb = tf.randomNormal([batch, size, size, 3]);
const tfRun = (x: tf.Tensor) => async () => {
  const out = model.predict(x) as tf.Tensor[];
  await Promise.all(out.map((t) => t.data()));
  out.forEach((t) => t.dispose());
};
const tfLat = await timeCalls(tfRun(x1), 3, Math.max(5, Math.floor(runs / 2)));
line(`tfjs ${tf.getBackend()} batch 1`, tfLat);
const tfBatch = await timeCalls(tfRun(xb), 1, 5);
const tfImgS = (batch * 1000) / tfBatch.p50;
console.log(`${`tfjs ${tf.getBackend()} batch ${batch}`.padEnd(34)} ${tfImgS.toFixed(1)} img/s`);

console.log(`\nratios (higher = onnxruntime faster):`);
console.log(`  tfjs-wasm / onnxruntime latency, batch 1, 1 thread: ${(tfLat.p50 / ort1Lat.p50).toFixed(2)}x`);
console.log(`  onnxruntime / tfjs-wasm throughput, batch ${batch}: ${(ortImgS / tfImgS).toFixed(2)}x`);
if (!a['no-torch']) {
  const torch = await runTorchBench(size, batch, 1);
  if (torch.ok) {
    console.log(`  onnxruntime / ${torch.engine} forward throughput, batch ${batch}, 1 thread: ${ortImgS.toFixed(1)} / ${torch.forwardImgS} = ${(ortImgS / torch.forwardImgS).toFixed(2)}x`);
    console.log(`  tfjs-wasm / ${torch.engine} forward throughput: ${(tfImgS / torch.forwardImgS).toFixed(2)}x`);
  } else console.log(`  torch: not run (${torch.reason})`);
}
const host224 = await hostReferenceLatency(1);
const calibrated = 63 / host224.p50;
console.log(`\nRaspberry Pi 5 estimate from the 1-thread p50 (config/export.yaml): fixed x${a['slowdown-factor']} -> ${estimateDeviceLatency(ort1Lat.p50, Number(a['slowdown-factor']))} ms; calibrated x${calibrated.toFixed(3)} (63 ms / B0@224 here ${host224.p50} ms) -> ${estimateDeviceLatency(ort1Lat.p50, calibrated)} ms`);
await ort1.release();
await ortAll.release();
