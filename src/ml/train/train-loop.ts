/**
 * The training loop (§3.3): curriculum-sampled epochs, the multi-task loss, AdamW with a
 * warm-up + cosine schedule, validation after every epoch, the best model kept, early
 * stopping on val part top-1, and a checkpoint per finished epoch so a rerun resumes.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AdamW } from './adamw.ts';
import type { BackendPreference } from '../backend/select-backend.ts';
import type { SampleWeighting, TrainingSplit } from './batch.ts';
import { bestModelDir, copyWeights, readLatestCheckpoint, writeCheckpoint, type LoopState } from './checkpoint.ts';
import { drawnMix, phaseAt, sampleEpoch, type CurriculumConfig } from './curriculum.ts';
import { createRng } from '../random.ts';
import { evaluateSplit } from './evaluate-split.ts';
import type { EpochRecord } from './history.ts';
import type { LossWeights } from './loss.ts';
import { EpochProgress, type ProgressSink } from './progress.ts';
import { ReplicaPool, resolveReplicas, sharedSplit, type WorkerCount } from './replica-pool.ts';
import { soloStep, statisticVariables, trainableVariables, type ReplicaContext } from './replica-step.ts';
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
  /** Data-parallel replicas (replica-pool.ts): a count, or 'auto' = one per core on wasm/cpu. */
  workers: WorkerCount;
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
  let stoppedEarly = state.epochsWithoutImprovement >= c.patience;
  const backend = tf.getBackend();
  const replicas = resolveReplicas(c.workers, backend);
  const replica: ReplicaContext = {
    model: o.model, vars: trainableVariables(o.model), statistics: statisticVariables(o.model), optimizer,
    split: replicas > 1 ? sharedSplit(o.train) : o.train, loss: c.loss, weighting: c.weighting, seed: c.seed, replica: 0, replicas,
  };
  let pool: ReplicaPool | undefined;
  if (replicas > 1 && state.epochsDone < c.epochs && !stoppedEarly) {
    pool = await ReplicaPool.start(replica, { weightDecay: c.weightDecay, batchSize: c.batchSize, backend: backend as BackendPreference });
    log(`training on ${replicas} replicas (this thread + ${replicas - 1} worker thread(s)), ${c.batchSize} images per step split between them`);
  }
  try {

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
        const f = pool ? await pool.step(idx, state.stepsDone, lr) : soloStep(replica, idx, state.stepsDone, lr);
        state.stepsDone++;
        lossSum += f.total; partSum += f.part; colorSum += f.color;
        progress.update(step + 1, idx.length, f.total, lr);
      }
      await pool?.averageStatistics();
      const scores = await evaluateSplit(o.model, o.val, c.batchSize);
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
  } finally {
    await pool?.close();
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
