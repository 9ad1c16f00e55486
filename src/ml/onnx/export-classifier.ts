// The export step end to end: tfjs classifier -> model.onnx + sidecar, parity on real images, latency, metrics.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { estimateDeviceLatency, measureSessionLatency, type LatencyStats } from '../latency.ts';
import { normalize, type PreprocessSpec } from '../preprocess.ts';
import { nhwcToNchw, openSession } from './ort-session.ts';
import { deviceFactor, type DeviceFactor, type DeviceSettings } from './device-estimate.ts';
import { compareWithReference, referenceLogits, type ParityImages, type ParityReport } from './parity.ts';
import { exportToOnnx, OPSET } from './tfjs-to-onnx.ts';

export interface ClassifierLabels {
  parts: string[];
  colors: Array<{ id: number; name: string; rgb?: string }>;
  /** The data had no color labels: the color head is untrained and inference returns no color. */
  part_only?: boolean;
}

export interface ExportSettings {
  parity: { max_abs_diff: number; batch_size: number; max_images: number };
  latency: { warmup: number; runs: number; estimate_basis: 'p50_1thread' | 'p50_all' };
  device: DeviceSettings;
  /** Test images written to samples/ for the deploy stage's smoke test. */
  samples: number;
  /** Also write model.int8.onnx (int8 QDQ weights) and report its accuracy and latency cost; model.onnx stays FP32. */
  quantize?: { int8_weights: boolean };
}

/** What travels beside model.onnx as model.json. */
export interface OnnxSidecar {
  format: 'brickflow-onnx-classifier';
  /** First 16 hex digits of the model file's SHA-256: changes exactly when the model does. */
  version: string;
  sha256: string;
  opset: number;
  input: { name: string; shape: Array<string | number>; layout: 'NCHW' };
  outputs: string[];
  input_size: number;
  mean: number[];
  std: number[];
  labels: ClassifierLabels;
}

export type ExportOutcome =
  | { ok: true; metrics: ExportMetrics; sidecar: OnnxSidecar }
  | { ok: false; reason: 'parity'; message: string; metrics: ExportMetrics };

export interface ExportMetrics {
  parity_max_abs_diff: number;
  argmax_agreement: number;
  parity_images: number;
  latency_ms_p50_1thread: number;
  latency_ms_p95_1thread: number;
  latency_ms_p50_all: number;
  latency_ms_p95_all: number;
  latency_ms_estimate: number;
  /** This machine's p50 times the fixed factor, reported whichever method the gate uses. */
  latency_ms_estimate_fixed_factor: number;
  model_bytes: number;
  /** Present when quantize.int8_weights is on: the int8 model against tfjs, and its speed. */
  int8_max_abs_diff?: number;
  int8_argmax_agreement?: number;
  int8_latency_ms_p50_1thread?: number;
  int8_model_bytes?: number;
  detail: {
    int8?: { parity: ParityReport; latency_one_thread: LatencyStats; quantized_tensors: number; max_weight_error: number };
    parity: ParityReport;
    latency: { one_thread: LatencyStats; all_threads: LatencyStats & { threads: number } };
    estimate: { device: string; basis: string; fixed_factor: number } & DeviceFactor;
    graph: { nodes: number; folded_batch_norms: number; opset: number };
    version: string;
  };
}

export interface ExportClassifierInput {
  model: tf.LayersModel;
  labels: ClassifierLabels;
  preprocess: PreprocessSpec;
  /** The real test images (uint8 RGB HWC at the model's input size). */
  images: ParityImages;
  outDir: string;
  settings: ExportSettings;
  log?: (line: string) => void;
}

export async function exportClassifier(input: ExportClassifierInput): Promise<ExportOutcome> {
  const log = input.log ?? (() => {});
  const { model, labels, preprocess, settings } = input;
  const size = preprocess.input_size;
  if (model.inputs[0].shape[1] !== size) throw new Error(`bug: model input ${model.inputs[0].shape[1]} px but preprocess.json says ${size}`);

  const exported = exportToOnnx(model, {
    docString: 'brickflow LEGO part + color classifier; input: RGB, (pixel/255 - mean)/std, NCHW',
    metadata: { labels: JSON.stringify(labels), preprocess: JSON.stringify({ input_size: size, mean: preprocess.mean, std: preprocess.std }) },
  });
  const sha256 = createHash('sha256').update(exported.bytes).digest('hex');
  const sidecar: OnnxSidecar = {
    format: 'brickflow-onnx-classifier',
    version: sha256.slice(0, 16),
    sha256,
    opset: OPSET,
    input: { name: 'image', shape: exported.inputShape, layout: 'NCHW' },
    outputs: exported.outputNames,
    input_size: size,
    mean: [...preprocess.mean],
    std: [...preprocess.std],
    labels,
  };
  await mkdir(input.outDir, { recursive: true });
  await writeFile(join(input.outDir, 'model.onnx'), exported.bytes);
  await writeFile(join(input.outDir, 'model.json'), `${JSON.stringify(sidecar, null, 2)}\n`);
  log(`wrote model.onnx (${(exported.bytes.length / 1e6).toFixed(2)} MB, ${exported.nodeCount} nodes, ${exported.foldedBatchNorms} BatchNorms folded), version ${sidecar.version}`);
  await writeSamples(input.images, Math.min(settings.samples, input.images.n), join(input.outDir, 'samples'));

  const limit = settings.parity.max_images > 0 ? Math.min(settings.parity.max_images, input.images.n) : input.images.n;
  const parityImages: ParityImages = { n: limit, size, images: input.images.images.subarray(0, limit * size * size * 3) };
  const session = await openSession(exported.bytes, 0);
  let lastLog = 0;
  const progress = (what: string) => (done: number, total: number) => {
    if (Date.now() - lastLog > 3000 || done === total) {
      lastLog = Date.now();
      log(`${what}: ${done}/${total} images`);
    }
  };
  const reference = referenceLogits(model, parityImages, { batchSize: settings.parity.batch_size, onProgress: progress('tfjs reference logits') });
  const parity = await compareWithReference(reference, session, exported.outputNames, parityImages, { batchSize: settings.parity.batch_size, onProgress: progress('onnxruntime parity') });
  log(`parity: max |tfjs - onnx| = ${parity.max_abs_diff.toExponential(2)}, argmax agreement ${(parity.argmax_agreement * 100).toFixed(2)}% over ${parity.images} images`);

  const feeds = latencyFeeds(input.images, size);
  const allThreads = availableParallelism();
  const oneSession = await openSession(exported.bytes, 1);
  const one = await measureSessionLatency(oneSession, feeds, settings.latency.warmup, settings.latency.runs);
  const all = await measureSessionLatency(session, feeds, settings.latency.warmup, settings.latency.runs);
  await oneSession.release();
  await session.release();
  const oneThread = settings.latency.estimate_basis === 'p50_1thread';
  const basis = oneThread ? one.p50 : all.p50;
  const factor = await deviceFactor(settings.device, oneThread ? 1 : 0);
  if (factor.host_reference) log(`calibration: EfficientNet-B0 224px here p50 ${factor.host_reference.p50} ms vs ${settings.device.reference_ms} ms on ${settings.device.name}: factor ${factor.factor}`);
  const estimate = estimateDeviceLatency(basis, factor.factor);
  log(`latency (batch 1): 1 thread p50 ${one.p50} ms p95 ${one.p95} ms; ${allThreads} threads p50 ${all.p50} ms p95 ${all.p95} ms; ${settings.device.name} estimate ${estimate} ms`);

  const metrics: ExportMetrics = {
    parity_max_abs_diff: parity.max_abs_diff,
    argmax_agreement: parity.argmax_agreement,
    parity_images: parity.images,
    latency_ms_p50_1thread: one.p50,
    latency_ms_p95_1thread: one.p95,
    latency_ms_p50_all: all.p50,
    latency_ms_p95_all: all.p95,
    latency_ms_estimate: estimate,
    latency_ms_estimate_fixed_factor: estimateDeviceLatency(basis, settings.device.slowdown_factor),
    model_bytes: exported.bytes.length,
    detail: {
      parity,
      latency: { one_thread: one, all_threads: { ...all, threads: allThreads } },
      estimate: { device: settings.device.name, basis: settings.latency.estimate_basis, fixed_factor: settings.device.slowdown_factor, ...factor },
      graph: { nodes: exported.nodeCount, folded_batch_norms: exported.foldedBatchNorms, opset: OPSET },
      version: sidecar.version,
    },
  };
  if (settings.quantize?.int8_weights) {
    const int8 = await exportInt8(model, reference, parityImages, feeds, settings, input.outDir);
    Object.assign(metrics, { int8_max_abs_diff: int8.parity.max_abs_diff, int8_argmax_agreement: int8.parity.argmax_agreement, int8_latency_ms_p50_1thread: int8.latency_one_thread.p50, int8_model_bytes: int8.bytes });
    metrics.detail.int8 = { parity: int8.parity, latency_one_thread: int8.latency_one_thread, quantized_tensors: int8.quantized_tensors, max_weight_error: int8.max_weight_error };
    log(`int8 weights: ${(int8.bytes / 1e6).toFixed(2)} MB, max |tfjs - int8| ${int8.parity.max_abs_diff.toExponential(2)}, argmax agreement ${(int8.parity.argmax_agreement * 100).toFixed(2)}%, 1-thread p50 ${int8.latency_one_thread.p50} ms (FP32 ${one.p50} ms)`);
  }
  const problems: string[] = [];
  if (parity.images === 0) problems.push('no test images to check parity on');
  if (!(parity.max_abs_diff <= settings.parity.max_abs_diff)) problems.push(`max abs logit difference ${parity.max_abs_diff} > ${settings.parity.max_abs_diff}`);
  for (const [name, p] of Object.entries(parity.per_output))
    if (p.argmax_agreement < 1) problems.push(`${name}: argmax differs on ${Math.round((1 - p.argmax_agreement) * parity.images)} images (first: test image #${p.disagreeing.join(', #')})`);
  if (problems.length > 0) return { ok: false, reason: 'parity', message: `ONNX model does not match tfjs: ${problems.join('; ')}`, metrics };
  return { ok: true, metrics, sidecar };
}

/** model.int8.onnx beside the FP32 model, with its parity against tfjs (not gated: int8 is expected to differ) and latency. */
async function exportInt8(model: tf.LayersModel, reference: Float32Array[], images: ParityImages, feeds: Record<string, ort.Tensor>, settings: ExportSettings, outDir: string) {
  const q = exportToOnnx(model, { quantizeWeights: true });
  await writeFile(join(outDir, 'model.int8.onnx'), q.bytes);
  const session = await openSession(q.bytes, 1, true);
  const parity = await compareWithReference(reference, session, q.outputNames, images, { batchSize: settings.parity.batch_size });
  const latency_one_thread = await measureSessionLatency(session, feeds, settings.latency.warmup, settings.latency.runs);
  await session.release();
  return { bytes: q.bytes.length, parity, latency_one_thread, quantized_tensors: q.quantization?.quantizedTensors ?? 0, max_weight_error: q.quantization?.maxWeightError ?? 0 };
}

/** Batch-1 feed from the first image (or mid-grey when there is none). */
function latencyFeeds(images: ParityImages, size: number): Record<string, ort.Tensor> {
  const pixels = size * size * 3;
  const rgb = images.n > 0 ? images.images.subarray(0, pixels) : new Uint8Array(pixels).fill(128);
  return { image: new ort.Tensor('float32', nhwcToNchw(normalize(rgb), 1, size, size, 3), [1, 3, size, size]) };
}

async function writeSamples(images: ParityImages, count: number, dir: string): Promise<void> {
  if (count === 0) return;
  await mkdir(dir, { recursive: true });
  const pixels = images.size * images.size * 3;
  for (let i = 0; i < count; i++) {
    const raw = Buffer.from(images.images.subarray(i * pixels, (i + 1) * pixels));
    await sharp(raw, { raw: { width: images.size, height: images.size, channels: 3 } }).png().toFile(join(dir, `test_${String(i).padStart(3, '0')}.png`));
  }
}
