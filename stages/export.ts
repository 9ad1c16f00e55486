// The export stage: artifacts/model (tfjs) -> artifacts/onnx/{model.onnx, model.json}, with parity and latency in artifacts/metrics/export.json.
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { readStageContext } from '../src/engine/stage-context.ts';
import { selectBackend } from '../src/ml/backend/select-backend.ts';
import { AugmentCacheError, readAugmentCache, sampleImage, type CachedSplit } from '../src/ml/augment-cache-reader.ts';
import { evaluatedSource } from '../src/ml/dataset/data-config.ts';
import { loadModel } from '../src/ml/model/model-io.ts';
import { exportClassifier, type ClassifierLabels } from '../src/ml/onnx/export-classifier.ts';
import { parseExportConfig } from '../src/ml/onnx/export-config.ts';
import { UnsupportedLayerError } from '../src/ml/onnx/layer-mappers.ts';
import type { ParityImages } from '../src/ml/onnx/parity.ts';
import { preprocessSpec, type PreprocessSpec } from '../src/ml/preprocess.ts';

const EXPORT_FILE = 'config/export.yaml';

/** The test images of the evaluated source (split.evaluate_on); other sources are skipped if present. */
function evaluatedTestImages(split: CachedSplit, source: string): { images: ParityImages; skipped: number } {
  const keep = split.source.map((s, i) => (s === source ? i : -1)).filter((i) => i >= 0);
  const per = split.height * split.width * 3;
  if (keep.length === split.n) return { images: { n: split.n, size: split.height, images: split.images }, skipped: 0 };
  const images = new Uint8Array(keep.length * per);
  keep.forEach((i, k) => images.set(sampleImage(split, i), k * per));
  return { images: { n: keep.length, size: split.height, images }, skipped: split.n - keep.length };
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

async function main(): Promise<number> {
  const ctx = readStageContext('export');
  const evaluated = evaluatedSource(ctx.params['config/data.yaml'], ctx.abs('config/data.yaml'), 'config/data.yaml');
  if (!evaluated.ok) {
    console.error(evaluated.message);
    return 2;
  }
  const parsed = parseExportConfig(ctx.params[EXPORT_FILE]?.['export'], { name: EXPORT_FILE, abs: ctx.abs(EXPORT_FILE) });
  if (!parsed.ok) {
    for (const e of parsed.errors) console.error(`export: ${e}`);
    return 2;
  }
  const params = parsed.config;
  if (!ctx.metrics) {
    console.error('export: pipeline.yaml gives the stage no metrics: file for the gates to read');
    return 2;
  }
  const modelDir = ctx.dep('model');
  const cacheDir = ctx.dep('augment-cache');
  // As pipeline.yaml names them, for messages.
  const [modelName, cacheName] = [modelDir, cacheDir].map((d) => relative(ctx.root, d));
  // The tfjs reference: wasm (XNNPACK, float32, what trains here) is ~4x faster than cpu on B0.
  if (params.parity.backend === 'wasm') await selectBackend('wasm', { log: null });
  else await tf.setBackend('cpu');
  if (!existsSync(join(modelDir, 'model.json'))) {
    console.error(`${modelName}/model.json: not found; run the train stage first`);
    return 1;
  }
  const model = await loadModel(modelDir);
  const labels = readJson<ClassifierLabels>(join(modelDir, 'labels.json'));
  const preprocessFile = join(modelDir, 'preprocess.json');
  const preprocess = existsSync(preprocessFile) ? readJson<PreprocessSpec>(preprocessFile) : preprocessSpec(model.inputs[0].shape[1] as number);
  let test: CachedSplit;
  try {
    test = readAugmentCache(cacheDir).test;
  } catch (e) {
    if (!(e instanceof AugmentCacheError)) throw e;
    console.error(e.message);
    return 1;
  }
  if (test.height !== preprocess.input_size || test.width !== preprocess.input_size) {
    console.error(`${cacheName}: test images are ${test.width}x${test.height}, the model takes ${preprocess.input_size}px; rerun augment-cache`);
    return 1;
  }
  const { images, skipped } = evaluatedTestImages(test, evaluated.value);
  if (skipped > 0) console.log(`export: parity on the ${images.n} test images of "${evaluated.value}" (${skipped} from other sources skipped)`);
  console.log(`export: ${model.name}, ${model.layers.length} layers, ${images.n} test images of "${evaluated.value}", tfjs reference on ${tf.getBackend()}`);

  let outcome;
  try {
    outcome = await exportClassifier({ model, labels, preprocess, images, outDir: ctx.out('onnx'), settings: params, log: (l) => console.log(l) });
  } catch (e) {
    if (e instanceof UnsupportedLayerError) {
      console.error(`${modelName}/model.json: cannot export ${e.message}`);
      return 1;
    }
    throw e;
  }
  const metricsFile = ctx.abs(ctx.metrics);
  await mkdir(dirname(metricsFile), { recursive: true });
  await writeFile(metricsFile, `${JSON.stringify(outcome.metrics, null, 2)}\n`);
  if (!outcome.ok) {
    console.error(outcome.message);
    return 1;
  }
  console.log(`export: done, latency estimate on ${params.device.name}: ${outcome.metrics.latency_ms_estimate} ms`);
  return 0;
}

process.exitCode = await main();
