/**
 * The train stage's work once its inputs are checked (stages/train.ts): builds the classifier,
 * trains it (resuming from artifacts/train-state only when an interrupted run left state there
 * for the same engine fingerprint, never with --force; continuing from the last model's
 * weights when training.warm_start applies — warm-start.ts), and writes the model
 * (model.json + weights, labels.json, preprocess.json, training_curves.png) and the metrics.
 * Kept apart from the stage because tfjs and the model code take seconds to load: the stage
 * reports a bad config, cache or manifest before loading them.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { ParamValues } from '../../engine/params.ts';
import type { StageContext } from '../../engine/stage-context.ts';
import type { AugmentCache } from '../augment-cache-reader.ts';
import type { ManifestEntry } from '../augment/dataset-input.ts';
import { selectBackend } from '../backend/select-backend.ts';
import { buildClassifier } from '../model/classifier.ts';
import { freezeLayers, layersToFreeze } from '../model/freezing.ts';
import { saveModel } from '../model/model-io.ts';
import { preprocessSpec } from '../preprocess.ts';
import { withSeededMathRandom } from '../random.ts';
import { copyWeights, dropCheckpoints } from './checkpoint.ts';
import { loadPretrained } from './pretrained.ts';
import { trainLoop } from './train-loop.ts';
import { measureTrainFit, TRAIN_FIT_PER_SOURCE, trainFitSample } from './train-fit.ts';
import { renderTrainingCurves } from './training-curves.ts';
import type { ResolvedTrainingConfig } from './training-config.ts';
import { configHash, keepAsPrevious, readPrevious, sha256, trainSamples, warmLoopConfig, warmStartBlocker, warmStartWanted, weightsHash } from './warm-start.ts';

export interface TrainRun {
  ctx: StageContext;
  cfg: ResolvedTrainingConfig;
  /** Where the training history goes (the stage's `metrics:`, project-relative). */
  metrics: string;
  /** config/training.yaml's params as the engine passed them (their hash is the model's provenance). */
  configParams: ParamValues;
  cache: AugmentCache;
  /** The dataset dep (artifacts/dataset) and its manifest, when the stage has it: the train-fit sample comes from it. */
  dataset?: { dir: string; entries: ManifestEntry[] };
}

/** Trains and writes the model and metrics; returns the errors that stopped it (none: done). */
export async function trainAndSave(run: TrainRun): Promise<string[]> {
  const { ctx, cfg } = run;
  const { train, val, labels } = run.cache;
  await selectBackend(cfg.backend);
  const dataset = run.dataset?.dir;
  const fitSample = run.dataset && trainFitSample(run.dataset.entries, labels);

  // Seeded: tfjs' weight initialisers draw from Math.random (src/ml/random.ts).
  const classifier = withSeededMathRandom(cfg.loop.seed, () => buildClassifier({ ...cfg.model, nParts: labels.parts.length, nColors: labels.colors.length }));
  const { model, backbones } = classifier;
  const pretrained = await loadPretrained(model, backbones.length === 2 ? ['part_', 'color_'] : [''], cfg.model.pretrained, ctx.root);
  if (!pretrained.ok) return [pretrained.message];
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
    config: configHash(run.configParams), code: ctx.codeFingerprint ?? 'none',
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
  const metricsPath = ctx.abs(run.metrics);
  await mkdir(dirname(metricsPath), { recursive: true });
  await writeFile(metricsPath, JSON.stringify(metrics, null, 1));
  // The model is out: a later run with these inputs is fresh, with others starts over.
  await dropCheckpoints(stateDir);
  await keepAsPrevious(stateDir, model, provenance);
  console.log(`train: best epoch ${outcome.bestEpoch}: val part top-1 ${pct(metrics.val_part_top1)}, top-5 ${pct(metrics.val_part_top5)}, color ${metrics.val_color_acc === null ? 'n/a (the data has no color labels)' : pct(metrics.val_color_acc)}; model in ${relative(ctx.root, modelDir)}`);
  return [];
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}
