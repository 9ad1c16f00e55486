/**
 * The train stage: reads config/training.yaml's params and the augment cache, builds the
 * classifier, trains it (resuming from artifacts/train-state only when an interrupted run
 * left state there for the same engine fingerprint, never with --force; continuing from the
 * last model's weights when training.warm_start applies — src/ml/train/warm-start.ts) and writes
 * artifacts/model (model.json + weights, labels.json, preprocess.json, training_curves.png)
 * and artifacts/metrics/train.json.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { readStageContext } from '../src/engine/stage-context.ts';
import { AugmentCacheError, readAugmentCache } from '../src/ml/augment-cache-reader.ts';
import { selectBackend } from '../src/ml/backend/select-backend.ts';
import { buildClassifier } from '../src/ml/model/classifier.ts';
import { freezeLayers, layersToFreeze } from '../src/ml/model/freezing.ts';
import { saveModel } from '../src/ml/model/model-io.ts';
import { preprocessSpec } from '../src/ml/preprocess.ts';
import { withSeededMathRandom } from '../src/ml/random.ts';
import { copyWeights, dropCheckpoints } from '../src/ml/train/checkpoint.ts';
import { trainLoop } from '../src/ml/train/train-loop.ts';
import { renderTrainingCurves } from '../src/ml/train/training-curves.ts';
import { resolveTrainingConfig } from '../src/ml/train/training-config.ts';
import { loadPretrained } from '../src/ml/train/pretrained.ts';
import { DatasetFormatError, readDatasetInput, type ManifestEntry } from '../src/ml/augment/dataset-input.ts';
import { measureTrainFit, TRAIN_FIT_PER_SOURCE, trainFitSample } from '../src/ml/train/train-fit.ts';
import { configHash, keepAsPrevious, readPrevious, sha256, trainSamples, warmLoopConfig, warmStartBlocker, warmStartWanted, weightsHash } from '../src/ml/train/warm-start.ts';

const CONFIG_FILE = 'config/training.yaml';

function fail(lines: string[]): number {
  for (const l of lines) console.error(`train: ${l}`);
  return 1;
}

async function main(): Promise<number> {
  const ctx = readStageContext('train');
  const resolved = resolveTrainingConfig(ctx.params[CONFIG_FILE] ?? {}, { name: CONFIG_FILE, abs: ctx.abs(CONFIG_FILE) });
  if (!resolved.ok) return fail(resolved.errors);
  if (!ctx.metrics) return fail(['pipeline.yaml gives the stage no metrics: file for the training history']);
  const cacheDir = ctx.dep('augment-cache');
  const cacheName = relative(ctx.root, cacheDir);
  const cfg = resolved.config;
  console.log(`train: profile '${cfg.profile}'`);
  await selectBackend(cfg.backend);

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

  // The train-fit sample (src/ml/train/train-fit.ts), read before training so a bad manifest fails early.
  const dataset = ctx.optionalDep('dataset');
  let fitSample: ManifestEntry[] | undefined;
  if (dataset) {
    try {
      fitSample = trainFitSample(readDatasetInput(dataset).entries, labels);
    } catch (err) {
      if (err instanceof DatasetFormatError) return fail([err.message]);
      throw err;
    }
  } else {
    console.log('train: no artifacts/dataset dep: train_fit (accuracy on un-augmented training images) is not measured');
  }

  // Seeded: tfjs' weight initialisers draw from Math.random (src/ml/random.ts).
  const classifier = withSeededMathRandom(cfg.loop.seed, () => buildClassifier({ ...cfg.model, nParts: labels.parts.length, nColors: labels.colors.length }));
  const { model, backbones } = classifier;
  const pretrained = await loadPretrained(model, backbones.length === 2 ? ['part_', 'color_'] : [''], cfg.model.pretrained, ctx.root);
  if (!pretrained.ok) return fail([pretrained.message]);
  console.log(`train: ${pretrained.message}`);
  const frozen = backbones.flatMap((b) => layersToFreeze(b, cfg.model.freezeBackboneRatio));
  const frozenParams = freezeLayers(model, frozen);
  console.log(`train: ${model.countParams().toLocaleString('en')} parameters, ${frozenParams.toLocaleString('en')} frozen (${frozen.length} layers)`);

  // Resume is the engine's: state is valid only for the inputs fingerprint it was made for.
  const stateDir = ctx.out('train-state');
  if (ctx.force || ctx.fingerprint === undefined) {
    await dropCheckpoints(stateDir);
    console.log(`train: ${ctx.force ? '--force' : 'started without the engine (no PIPELINE_STAGE_FINGERPRINT)'}: training from scratch`);
  }
  const provenance = {
    config: configHash(ctx.params[CONFIG_FILE] ?? {}), code: ctx.codeFingerprint ?? 'none',
    labels: sha256(JSON.stringify(labels)), train: trainSamples(train, labels.parts),
  };
  // Warm start: continue from the last model when only data was added. Its weights' hash is
  // part of the checkpoint fingerprint, so an interrupted warm run resumes only onto the same model.
  let loop = cfg.loop;
  let fingerprint = ctx.fingerprint ?? 'none';
  let warmFrom: string | undefined;
  if (warmStartWanted(cfg.warmStart) && !ctx.force) {
    const previous = await readPrevious(stateDir);
    const blocker = previous ? warmStartBlocker(previous.provenance, provenance) : 'no previous model in artifacts/train-state';
    if (previous && blocker === undefined) {
      copyWeights(previous.model, model);
      warmFrom = weightsHash(model);
      loop = warmLoopConfig(cfg.loop, cfg.warmStart.epochs);
      fingerprint = sha256(`${fingerprint} warm-from ${warmFrom}`);
      console.log(`train: warm start from the last model (${warmFrom.slice(0, 12)}, ${previous.provenance.train.length} -> ${train.n} train images): ${loop.epochs} epoch(s); --force or BRICKFLOW_WARM_START=0 trains from scratch`);
    } else {
      console.log(`train: warm start not possible (${blocker}): training from scratch`);
    }
    previous?.model.dispose();
  }
  const started = Date.now();
  const outcome = await trainLoop({ model, train, val, config: loop, stateDir, fingerprint });
  const seconds = (Date.now() - started) / 1000;

  const modelDir = ctx.out('model');
  await mkdir(dirname(modelDir), { recursive: true });
  await saveModel(model, modelDir);
  const labelsSource = dataset && join(dataset, 'labels.json');
  if (labelsSource && existsSync(labelsSource)) await copyFile(labelsSource, join(modelDir, 'labels.json'));
  else await writeFile(join(modelDir, 'labels.json'), JSON.stringify(labels, null, 1));
  await writeFile(join(modelDir, 'preprocess.json'), JSON.stringify(preprocessSpec(cfg.model.inputSize), null, 1));
  await renderTrainingCurves(outcome.history, join(modelDir, 'training_curves.png'));

  // After the model is saved, inference only: the measurement cannot change what was trained.
  const fitStarted = Date.now();
  const fit = fitSample ? await measureTrainFit({ model, sample: fitSample, labels, root: ctx.root, size: cfg.model.inputSize, batchSize: cfg.loop.batchSize }) : undefined;
  for (const [source, f] of Object.entries(fit?.bySource ?? {})) {
    console.log(`train: fit on ${f.n} un-augmented ${source} training images: part top-1 ${pct(f.part_top1)}, color ${f.color_acc === null ? 'n/a' : pct(f.color_acc)}`);
  }
  if (fit) console.log(`train: train_fit measured in ${((Date.now() - fitStarted) / 1000).toFixed(1)} s`);
  if (fit?.unreadable.length) console.log(`train: ${fit.unreadable.length} train-fit image(s) could not be decoded and were left out (first: ${fit.unreadable[0]})`);

  const best = outcome.history.find((h) => h.epoch === outcome.bestEpoch);
  const metrics = {
    val_part_top1: best?.val_part_top1 ?? 0,
    val_part_top5: best?.val_part_top5 ?? 0,
    val_color_acc: best ? best.val_color_acc : null, // null: no val image has a known color
    best_epoch: outcome.bestEpoch,
    epochs_run: outcome.history.length,
    stopped_early: outcome.stoppedEarly ? 1 : 0,
    resumed_from_epoch: outcome.resumedFromEpoch,
    warm_start_from: warmFrom ?? null, // weights hash of the model this run continued from; null = from scratch
    train_seconds_this_run: Math.round(seconds),
    images_per_sec: outcome.history.length ? outcome.history[outcome.history.length - 1]!.images_per_sec : 0,
    params: model.countParams(),
    frozen_params: frozenParams,
    // Per source, at the best epoch: accuracy on a fixed sample of un-augmented training images (src/ml/train/train-fit.ts).
    train_fit: fit?.bySource ?? null,
    history: outcome.history,
    detail: {
      train_fit: `up to ${TRAIN_FIT_PER_SOURCE} train images per source, the smallest content hashes (the same sample across runs and seeds), plain resizes, scored with the best epoch's weights`,
      profile: cfg.profile, backend: tf.getBackend(), pretrained: pretrained.message, config: cfg.effective },
  };
  const metricsPath = ctx.abs(ctx.metrics);
  await mkdir(dirname(metricsPath), { recursive: true });
  await writeFile(metricsPath, JSON.stringify(metrics, null, 1));
  // The model is out: a later run with these inputs is fresh, with others starts over.
  await dropCheckpoints(stateDir);
  await keepAsPrevious(stateDir, model, provenance);
  console.log(`train: best epoch ${outcome.bestEpoch}: val part top-1 ${pct(metrics.val_part_top1)}, top-5 ${pct(metrics.val_part_top5)}, color ${metrics.val_color_acc === null ? 'n/a (the data has no color labels)' : pct(metrics.val_color_acc)}; model in ${relative(ctx.root, modelDir)}`);
  return 0;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function countBy(items: string[]): string {
  const counts = new Map<string, number>();
  for (const s of items) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts].map(([k, v]) => `${k} ${v}`).join(', ');
}

process.exitCode = await main();
