/**
 * The training loop (§3.3): curriculum-sampled epochs, the multi-task loss, AdamW with a
 * warm-up + cosine schedule, validation after every epoch, the best model kept, early
 * stopping on val part top-1, and a checkpoint per finished epoch so a rerun resumes.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AdamW } from './adamw.ts';
import { imageBatch, targetBatch, type SampleWeighting, type TrainingSplit } from './batch.ts';
import { bestModelDir, copyWeights, readLatestCheckpoint, writeCheckpoint, type LoopState } from './checkpoint.ts';
import { createRng, drawnMix, phaseAt, sampleEpoch, type CurriculumConfig } from './curriculum.ts';
import { evaluateSplit } from './evaluate-split.ts';
import type { EpochRecord } from './history.ts';
import { multiTaskLoss, type LossWeights } from './loss.ts';
import { EpochProgress, type ProgressSink } from './progress.ts';
import { learningRateAt } from './schedule.ts';
import { loadModel, saveModel } from '../model/model-io.ts';

export interface TrainLoopConfig {
  epochs: number;
  batchSize: number;
  /** Samples drawn per epoch; default: the train split's size. */
  epochSize?: number;
  lr: number;
  minLr: number;
  warmupEpochs: number;
  weightDecay: number;
  patience: number;             // epochs without val part top-1 improvement before stopping
  seed: number;
  loss: LossWeights;
  weighting: SampleWeighting;
  curriculum: CurriculumConfig;
}

export interface TrainLoopOptions {
  model: tf.LayersModel;
  train: TrainingSplit;
  val: TrainingSplit;
  config: TrainLoopConfig;
  /** The persist out for checkpoints (artifacts/train-state). */
  stateDir: string;
  /** Identifies config + data; a checkpoint with another fingerprint is not resumed. */
  fingerprint: string;
  log?: (line: string) => void;
  progress?: ProgressSink;
  /** Called after each finished epoch (after its checkpoint is written). */
  onEpoch?: (record: EpochRecord) => void | Promise<void>;
}

export interface TrainOutcome {
  history: EpochRecord[];
  bestEpoch: number;
  bestValPartTop1: number;
  stoppedEarly: boolean;
  resumedFromEpoch: number;     // 0 = fresh start
}

function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  // LayerVariable.read() returns the backing tf.Variable (typed as Tensor in tfjs-layers).
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** Train `model` in place; on return it holds the best epoch's weights. */
export async function trainLoop(o: TrainLoopOptions): Promise<TrainOutcome> {
  const c = o.config;
  const log = o.log ?? ((l: string) => console.log(l));
  const epochSize = c.epochSize ?? o.train.n;
  const stepsPerEpoch = Math.max(1, Math.floor(epochSize / c.batchSize));
  const schedule = { baseLr: c.lr, minLr: c.minLr, warmupSteps: Math.round(c.warmupEpochs * stepsPerEpoch), totalSteps: c.epochs * stepsPerEpoch };
  const optimizer = new AdamW({ weightDecay: c.weightDecay });
  let state: LoopState = {
    fingerprint: o.fingerprint, epochsDone: 0, stepsDone: 0, optimizerStep: 0,
    bestEpoch: 0, bestScore: -1, epochsWithoutImprovement: 0, history: [],
  };

  const checkpoint = await readLatestCheckpoint(o.stateDir);
  if (checkpoint && checkpoint.state.fingerprint === o.fingerprint) {
    copyWeights(checkpoint.model, o.model);
    optimizer.restore(checkpoint.optimizer, checkpoint.state.optimizerStep);
    checkpoint.model.dispose();
    state = checkpoint.state;
    log(`resuming from ${checkpoint.dir}: ${state.epochsDone} of ${c.epochs} epochs done`);
  } else if (checkpoint) {
    checkpoint.model.dispose();
    log(`ignoring ${checkpoint.dir}: it belongs to other config or data; training from epoch 1`);
  }
  const resumedFromEpoch = state.epochsDone;
  const vars = trainableVariables(o.model);
  let stoppedEarly = state.epochsWithoutImprovement >= c.patience;

  for (let epoch = state.epochsDone; epoch < c.epochs && !stoppedEarly; epoch++) {
    const started = Date.now();
    const phase = c.curriculum.enabled ? phaseAt(c.curriculum, epoch, c.epochs) : undefined;
    // Seeded per epoch, so a resumed epoch draws the same samples as an uninterrupted one.
    const order = sampleEpoch(o.train.source, phase?.mix, stepsPerEpoch * c.batchSize, createRng(c.seed + 7919 * epoch));
    const progress = new EpochProgress(epoch + 1, c.epochs, stepsPerEpoch, o.progress);
    let lossSum = 0, partSum = 0, colorSum = 0, lr = c.lr;
    for (let step = 0; step < stepsPerEpoch; step++) {
      const idx = order.subarray(step * c.batchSize, (step + 1) * c.batchSize);
      lr = learningRateAt(state.stepsDone, schedule);
      const [total, part, color] = tf.tidy(() => {
        const x = imageBatch(o.train, idx);
        const t = targetBatch(o.train, idx, c.weighting);
        let parts: [tf.Scalar, tf.Scalar] = [tf.scalar(0), tf.scalar(0)];
        const { value, grads } = tf.variableGrads(() => {
          const [partLogits, colorLogits] = o.model.apply(x, { training: true }) as [tf.Tensor2D, tf.Tensor2D];
          const l = multiTaskLoss(partLogits, colorLogits, t, c.loss);
          parts = [tf.keep(l.part), tf.keep(l.color)];
          return l.total;
        }, vars);
        optimizer.apply(vars, grads, lr);
        const figures = [value.dataSync()[0]!, parts[0].dataSync()[0]!, parts[1].dataSync()[0]!];
        parts.forEach((p) => p.dispose()); // kept out of variableGrads' scope, so not tidied
        return figures;
      });
      state.stepsDone++;
      lossSum += total; partSum += part; colorSum += color;
      progress.update(step + 1, idx.length, total, lr);
    }
    const scores = evaluateSplit(o.model, o.val, c.batchSize);
    const record: EpochRecord = {
      epoch: epoch + 1,
      train_loss: lossSum / stepsPerEpoch, train_part_loss: partSum / stepsPerEpoch, train_color_loss: colorSum / stepsPerEpoch,
      val_part_top1: scores.part_top1, val_part_top5: scores.part_top5, val_color_acc: scores.color_acc,
      lr, images_per_sec: progress.imagesPerSecond(), seconds: (Date.now() - started) / 1000,
    };
    state.history.push(record);
    if (scores.part_top1 > state.bestScore) {
      state.bestScore = scores.part_top1;
      state.bestEpoch = epoch + 1;
      state.epochsWithoutImprovement = 0;
      await saveModel(o.model, bestModelDir(o.stateDir));
    } else {
      state.epochsWithoutImprovement++;
    }
    state.epochsDone = epoch + 1;
    state.optimizerStep = optimizer.step;
    await writeCheckpoint(o.stateDir, o.model, optimizer, state);
    // The mix as drawn: only sources the data has, their shares renormalised.
    const mix = phase ? Object.fromEntries([...drawnMix(phase.mix, o.train.source)].map(([s, share]) => [s, Math.round(share * 1000) / 1000])) : undefined;
    log(`epoch ${epoch + 1}/${c.epochs}: loss ${record.train_loss.toFixed(4)} val part top-1 ${(scores.part_top1 * 100).toFixed(1)}% top-5 ${(scores.part_top5 * 100).toFixed(1)}% color ${scores.color_acc === null ? 'n/a' : `${(scores.color_acc * 100).toFixed(1)}%`}` +
      `${mix ? ` mix ${JSON.stringify(mix)}` : ''} (${record.seconds.toFixed(1)} s)`);
    await o.onEpoch?.(record);
    if (state.epochsWithoutImprovement >= c.patience) {
      stoppedEarly = true;
      log(`early stop: val part top-1 has not improved for ${c.patience} epochs (best ${(state.bestScore * 100).toFixed(1)}% at epoch ${state.bestEpoch})`);
    }
  }
  optimizer.dispose();
  if (state.bestEpoch > 0 && !existsSync(join(bestModelDir(o.stateDir), 'model.json'))) {
    // Only when a kill landed between the two renames of saving `best/`.
    log(`${bestModelDir(o.stateDir)} is missing: keeping the last epoch's weights, not epoch ${state.bestEpoch}'s`);
  } else if (state.bestEpoch > 0) {
    const best = await loadModel(bestModelDir(o.stateDir));
    copyWeights(best, o.model);
    best.dispose();
  }
  return { history: state.history, bestEpoch: state.bestEpoch, bestValPartTop1: state.bestScore, stoppedEarly, resumedFromEpoch };
}
