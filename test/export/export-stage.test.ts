// stages/export.ts run as the engine runs it: a child process in a temp project with PIPELINE_* set.
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CACHE_FORMAT } from '../../src/ml/augment/cache-key.ts';
import type { CacheIndex, SplitIndex } from '../../src/ml/augment/cache-layout.ts';
import { saveModel } from '../../src/ml/model/model-io.ts';
import { preprocessSpec } from '../../src/ml/preprocess.ts';
import { efficientNetLike, singleLayerModel } from './tiny-models.ts';

const STAGE = join(import.meta.dirname, '../../stages/export.ts');
// The stage runs in a temp project, so tsx is named by path, not resolved from the cwd.
const TSX = pathToFileURL(join(import.meta.dirname, '../../node_modules/tsx/dist/loader.mjs')).href;
const SIZE = 16;
const LABELS = { parts: ['3001', '3003', '3020', '3022'], colors: [{ id: 0, name: 'Black', rgb: '05131D' }, { id: 4, name: 'Red', rgb: 'C91A09' }, { id: 15, name: 'White', rgb: 'FFFFFF' }] };
const PARAMS = {
  export: {
    parity: { max_abs_diff: 1e-4, batch_size: 4, max_images: 0, backend: 'wasm' },
    latency: { warmup: 2, runs: 6, estimate_basis: 'p50_1thread' },
    device: { name: 'raspberry-pi-5', slowdown_factor: 17.5, reference_ms: 63, calibrate: false },
    samples: 3,
    quantize: { int8_weights: true },
  },
};
const roots: string[] = [];
afterAll(async () => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

function emptySplit(file: string): SplitIndex {
  return { file, n: 0, height: SIZE, width: SIZE, part_index: [], color_index: [], source: [], weight: [], path: [] };
}

/** A temp project holding artifacts/model (tfjs) and an augment cache whose test split has `n` real images. */
async function project(model: tf.LayersModel, n = 6): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'brickflow-export-stage-'));
  roots.push(root);
  const modelDir = join(root, 'artifacts/model');
  await saveModel(model, modelDir);
  await writeFile(join(modelDir, 'labels.json'), JSON.stringify(LABELS));
  await writeFile(join(modelDir, 'preprocess.json'), JSON.stringify(preprocessSpec(SIZE)));
  const cache = join(root, 'artifacts/augment-cache');
  await mkdir(cache, { recursive: true });
  const pixels = new Uint8Array(n * SIZE * SIZE * 3).map((_, i) => (i * 37 + (i >> 5) * 11) % 256);
  await writeFile(join(cache, 'test.bin'), pixels);
  await writeFile(join(cache, 'empty.bin'), new Uint8Array(0));
  const index: CacheIndex = {
    format: CACHE_FORMAT,
    input_size: SIZE,
    variants: 1,
    augment_params: 'test',
    splits: {
      train: emptySplit('empty.bin'),
      val: emptySplit('empty.bin'),
      test: { file: 'test.bin', n, height: SIZE, width: SIZE, part_index: Array.from({ length: n }, (_, i) => i % 4), color_index: Array(n).fill(0), source: Array(n).fill('real'), weight: Array(n).fill(3), path: Array.from({ length: n }, (_, i) => `data/real/${i}.jpg`) },
    },
  };
  await writeFile(join(cache, 'index.json'), JSON.stringify(index));
  await writeFile(join(cache, 'labels.json'), JSON.stringify(LABELS));
  return root;
}

function runStage(root: string, params: unknown = PARAMS) {
  return spawnSync(process.execPath, ['--import', TSX, STAGE], {
    cwd: root,
    encoding: 'utf8',
    env: {
      ...process.env,
      PIPELINE_STAGE: 'export',
      PIPELINE_ROOT: root,
      PIPELINE_PARAMS: JSON.stringify({ 'config/export.yaml': params }),
      PIPELINE_DEPS: JSON.stringify(['artifacts/model', 'artifacts/augment-cache']),
      PIPELINE_OUTS: JSON.stringify(['artifacts/onnx']),
      PIPELINE_METRICS: 'artifacts/metrics/export.json',
    },
  });
}

describe('the export stage', () => {
  it('writes model.onnx, model.json, samples and flat metrics that pass the gates', async () => {
    const root = await project(efficientNetLike(SIZE, LABELS.parts.length, LABELS.colors.length));
    const r = runStage(root);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/parity: max \|tfjs - onnx\|/);
    for (const f of ['model.onnx', 'model.json', 'samples/test_002.png']) expect(existsSync(join(root, 'artifacts/onnx', f))).toBe(true);
    const m = JSON.parse(readFileSync(join(root, 'artifacts/metrics/export.json'), 'utf8'));
    for (const key of ['parity_max_abs_diff', 'argmax_agreement', 'latency_ms_p50_1thread', 'latency_ms_p95_1thread', 'latency_ms_p50_all', 'latency_ms_p95_all', 'latency_ms_estimate'])
      expect(typeof m[key]).toBe('number');
    expect(m.parity_max_abs_diff).toBeLessThanOrEqual(1e-4);
    expect(m.argmax_agreement).toBe(1);
    expect(m.parity_images).toBe(6);
    expect(m.latency_ms_p95_1thread).toBeGreaterThanOrEqual(m.latency_ms_p50_1thread);
    expect(m.latency_ms_estimate).toBeCloseTo(m.latency_ms_p50_1thread * 17.5, 1);
    // int8 weights: a second, smaller model, compared with tfjs and timed
    expect(existsSync(join(root, 'artifacts/onnx/model.int8.onnx'))).toBe(true);
    expect(m.int8_model_bytes).toBeLessThan(m.model_bytes); // a tiny model: names and biases weigh as much as weights
    expect(m.int8_max_abs_diff).toBeGreaterThan(0);
    expect(typeof m.int8_argmax_agreement).toBe('number');
    expect(typeof m.int8_latency_ms_p50_1thread).toBe('number');
  });

  it('calibrates the device factor by timing EfficientNet-B0 at 224 px here when asked', async () => {
    const root = await project(efficientNetLike(SIZE, LABELS.parts.length, LABELS.colors.length), 2);
    const calibrated = { export: { ...PARAMS.export, device: { ...PARAMS.export.device, calibrate: true } } };
    const r = runStage(root, calibrated);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/calibration: EfficientNet-B0 224px here p50 [\d.]+ ms vs 63 ms on raspberry-pi-5/);
    const m = JSON.parse(readFileSync(join(root, 'artifacts/metrics/export.json'), 'utf8'));
    const est = m.detail.estimate;
    expect(est.method).toBe('calibrated');
    expect(est.factor).toBeCloseTo(63 / est.host_reference.p50, 2);
    expect(m.latency_ms_estimate).toBeCloseTo(m.latency_ms_p50_1thread * est.factor, 1);
    expect(m.latency_ms_estimate_fixed_factor).toBeCloseTo(m.latency_ms_p50_1thread * 17.5, 1);
  });

  it('fails (exit 1) when the logits differ by more than the configured limit, still writing the figures', async () => {
    const root = await project(efficientNetLike(SIZE, LABELS.parts.length, LABELS.colors.length));
    const strict = { export: { ...PARAMS.export, parity: { ...PARAMS.export.parity, max_abs_diff: 0 } } };
    const r = runStage(root, strict);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ONNX model does not match tfjs: max abs logit difference .* > 0/);
    expect(JSON.parse(readFileSync(join(root, 'artifacts/metrics/export.json'), 'utf8')).parity_max_abs_diff).toBeGreaterThan(0);
  });

  it('fails naming the layer when the model has a layer the exporter cannot map', async () => {
    const model = singleLayerModel(SIZE, 3, (x) => {
      const pooled = tf.layers.maxPooling2d({ poolSize: 2, name: 'odd_pool' }).apply(x) as tf.SymbolicTensor;
      const flat = tf.layers.globalAveragePooling2d({}).apply(pooled) as tf.SymbolicTensor;
      return [tf.layers.dense({ units: 4, name: 'part_logits' }).apply(flat) as tf.SymbolicTensor, tf.layers.dense({ units: 3, name: 'color_logits' }).apply(flat) as tf.SymbolicTensor];
    });
    const r = runStage(await project(model));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/artifacts\/model\/model\.json: cannot export layer odd_pool \(MaxPooling2D\)/);
  });

  it('fails with a message naming the cache when there is no augment cache', async () => {
    const root = await project(efficientNetLike(SIZE, 4, 3));
    await rm(join(root, 'artifacts/augment-cache'), { recursive: true });
    const r = runStage(root);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/augment-cache\/index\.json: cannot read/);
  });
});
