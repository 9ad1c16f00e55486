/**
 * The train stage: reads config/training.yaml's params, the augment cache and the dataset's
 * manifest, checks them, then trains and writes artifacts/model and artifacts/metrics/train.json
 * (src/ml/train/train-and-save.ts, loaded only once the inputs are known good).
 */
import { relative } from 'node:path';
import { readStageContext } from '../src/engine/stage-context.ts';
import { AugmentCacheError, readAugmentCache } from '../src/ml/augment-cache-reader.ts';
import { DatasetFormatError, readDatasetInput, type ManifestEntry } from '../src/ml/augment/dataset-input.ts';
import { resolveTrainingConfig } from '../src/ml/train/training-config.ts';

const CONFIG_FILE = 'config/training.yaml';

function fail(lines: string[]): number {
  for (const l of lines) console.error(`train: ${l}`);
  return 1;
}

async function main(): Promise<number> {
  const ctx = readStageContext('train');
  const resolved = resolveTrainingConfig(ctx.params[CONFIG_FILE] ?? {}, { name: CONFIG_FILE, abs: ctx.abs(CONFIG_FILE) });
  if (!resolved.ok) return fail(resolved.errors);
  const metrics = ctx.metrics;
  if (!metrics) return fail(['pipeline.yaml gives the stage no metrics: file for the training history']);
  const cacheDir = ctx.dep('augment-cache');
  const cacheName = relative(ctx.root, cacheDir);
  const cfg = resolved.config;
  console.log(`train: profile '${cfg.profile}'`);

  let cache;
  try {
    cache = readAugmentCache(cacheDir);
  } catch (err) {
    if (err instanceof AugmentCacheError) return fail([err.message]);
    throw err;
  }
  const { train, val, labels } = cache;
  if (train.height !== cfg.model.inputSize || train.width !== cfg.model.inputSize) {
    return fail([`${cacheName} holds ${train.width}x${train.height} images but model.input_size is ${cfg.model.inputSize} in ${CONFIG_FILE}; rerun augment-cache (it resizes to model.input_size)`]);
  }
  if (train.n === 0 || val.n === 0) return fail([`${cacheName}: ${train.n} train and ${val.n} val images; training needs both`]);
  console.log(`train: ${train.n} train images (${countBy(train.source)}), ${val.n} val, ${labels.parts.length} parts, ${labels.colors.length} colors`);

  // The train-fit sample's manifest (src/ml/train/train-fit.ts), read before training so a bad manifest fails early.
  const datasetDir = ctx.optionalDep('dataset');
  let entries: ManifestEntry[] | undefined;
  if (datasetDir) {
    try {
      entries = readDatasetInput(datasetDir).entries;
    } catch (err) {
      if (err instanceof DatasetFormatError) return fail([err.message]);
      throw err;
    }
  } else {
    console.log('train: no artifacts/dataset dep: train_fit (accuracy on un-augmented training images) is not measured');
  }

  const { trainAndSave } = await import('../src/ml/train/train-and-save.ts');
  const errors = await trainAndSave({
    ctx, cfg, metrics, cache, configParams: ctx.params[CONFIG_FILE] ?? {},
    ...(datasetDir && entries ? { dataset: { dir: datasetDir, entries } } : {}),
  });
  return errors.length > 0 ? fail(errors) : 0;
}

function countBy(items: string[]): string {
  const counts = new Map<string, number>();
  for (const s of items) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts].map(([k, v]) => `${k} ${v}`).join(', ');
}

process.exitCode = await main();
