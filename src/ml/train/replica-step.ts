/**
 * One training step as a replica runs it, the same code in every thread: the replica takes
 * its share of the global batch, computes the loss with the global batch's denominators (so
 * the replicas' gradients add up to the global batch's gradient), and, with more than one
 * replica, meets the others in the GradientExchange to sum gradients before the optimizer
 * step every replica takes identically. Random draws (dropout, stochastic depth) come from
 * a stream seeded by (seed, step, replica), so a run is reproducible and a resumed run
 * draws what an uninterrupted one would have.
 */
import * as tf from '@tensorflow/tfjs';
import { copyTensorInto, tensorFromCopy } from '../backend/tensor-memory.ts';
import { seedFrom, withSeededMathRandom } from '../random.ts';
import type { AdamW } from './adamw.ts';
import { imageBatch, lossDenominators, targetBatch, type SampleWeighting, type TrainingSplit } from './batch.ts';
import { FIGURES_PER_REPLICA, type GradientExchange } from './gradient-exchange.ts';
import { multiTaskLoss, type LossWeights } from './loss.ts';

export interface ReplicaContext {
  model: tf.LayersModel;
  /** The model's trainable variables, in model.trainableWeights order (the same in every replica). */
  vars: tf.Variable[];
  /** The BatchNorm moving statistics, in model.weights order. */
  statistics: tf.Variable[];
  optimizer: AdamW;
  split: TrainingSplit;
  loss: LossWeights;
  weighting: SampleWeighting;
  seed: number;
  replica: number;
  replicas: number;
}

/** The loss of a step: the global batch's (the sum of the replicas' shares). */
export interface StepFigures {
  total: number;
  part: number;
  color: number;
}

export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  // LayerVariable.read() returns the backing tf.Variable (typed as Tensor in tfjs-layers).
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** BatchNorm's moving mean and variance: what each replica updates from its own share. */
export function statisticVariables(model: tf.LayersModel): tf.Variable[] {
  return model.weights.filter((w) => !w.trainable && /moving_(mean|variance)/.test(w.originalName)).map((w) => w.read() as tf.Variable);
}

/** Replica `r`'s share of a batch: contiguous, sizes differing by at most one. */
export function shareOf(batch: Int32Array, r: number, replicas: number): Int32Array {
  return batch.subarray(Math.floor((r * batch.length) / replicas), Math.floor(((r + 1) * batch.length) / replicas));
}

/** Gradients of this replica's share (caller tidies), keyed by variable name. */
function shareGradients(c: ReplicaContext, batch: Int32Array, step: number): { grads: tf.NamedTensorMap; figures: StepFigures } {
  const share = shareOf(batch, c.replica, c.replicas);
  const denominators = lossDenominators(c.split, batch, c.weighting);
  return withSeededMathRandom(seedFrom(c.seed, 'step', step, c.replica), () => {
    const x = imageBatch(c.split, share);
    const t = targetBatch(c.split, share, c.weighting);
    let parts: [tf.Scalar, tf.Scalar] = [tf.scalar(0), tf.scalar(0)];
    const { value, grads } = tf.variableGrads(() => {
      const [partLogits, colorLogits] = c.model.apply(x, { training: true }) as [tf.Tensor2D, tf.Tensor2D];
      const l = multiTaskLoss(partLogits, colorLogits, t, c.loss, denominators);
      parts = [tf.keep(l.part), tf.keep(l.color)];
      return l.total;
    }, c.vars);
    const figures = { total: value.dataSync()[0]!, part: parts[0].dataSync()[0]!, color: parts[1].dataSync()[0]! };
    parts.forEach((p) => p.dispose()); // kept out of variableGrads' scope, so not tidied
    return { grads, figures };
  });
}

/** One replica alone: gradients of the whole batch, then the optimizer step. */
export function soloStep(c: ReplicaContext, batch: Int32Array, step: number, lr: number): StepFigures {
  let figures: StepFigures | undefined;
  tf.tidy(() => {
    const share = shareGradients(c, batch, step);
    c.optimizer.apply(c.vars, share.grads, lr);
    figures = share.figures;
  });
  return figures!;
}

function sizeOf(v: tf.Variable): number {
  return v.size;
}

/** Floats a replica's slot needs: all gradients, or all BatchNorm statistics. */
export function slotLength(vars: tf.Variable[], statistics: tf.Variable[]): number {
  return Math.max(vars.reduce((a, v) => a + sizeOf(v), 0), statistics.reduce((a, v) => a + sizeOf(v), 0), 1);
}

/** Phase 1 of a shared step: this replica's share's gradients and loss into its slot. */
export function writeShare(c: ReplicaContext, x: GradientExchange, batch: Int32Array, step: number): void {
  tf.tidy(() => {
    const { grads, figures } = shareGradients(c, batch, step);
    let offset = 0;
    const slot = x.slot(c.replica, x.buffers.slotLength);
    for (const v of c.vars) {
      const g = grads[v.name];
      if (g) copyTensorInto(g, slot.subarray(offset, offset + v.size));
      else slot.fill(0, offset, offset + v.size);
      offset += v.size;
    }
    x.figures.set([figures.total, figures.part, figures.color], c.replica * FIGURES_PER_REPLICA);
  });
  x.arrive();
}

/** Phase 2 (after every replica arrived): the summed gradients, then the optimizer step. */
export function applySummed(c: ReplicaContext, x: GradientExchange, lr: number): StepFigures {
  tf.tidy(() => {
    const grads: tf.NamedTensorMap = {};
    let offset = 0;
    for (const v of c.vars) {
      grads[v.name] = tensorFromCopy(x.summed(offset, v.size), v.shape);
      offset += v.size;
    }
    c.optimizer.apply(c.vars, grads, lr);
  });
  const f = { total: 0, part: 0, color: 0 };
  const figures = x.figures;
  for (let r = 0; r < c.replicas; r++) {
    f.total += figures[r * FIGURES_PER_REPLICA]!;
    f.part += figures[r * FIGURES_PER_REPLICA + 1]!;
    f.color += figures[r * FIGURES_PER_REPLICA + 2]!;
  }
  return f;
}

/** Phase 1 of averaging the BatchNorm statistics: this replica's into its slot. */
export function writeStatistics(c: ReplicaContext, x: GradientExchange): void {
  const slot = x.slot(c.replica, x.buffers.slotLength);
  let offset = 0;
  for (const v of c.statistics) {
    slot.set(v.dataSync() as Float32Array, offset);
    offset += v.size;
  }
  x.arrive();
}

/** Phase 2: every replica's statistics become the replicas' mean. */
export function applyAveragedStatistics(c: ReplicaContext, x: GradientExchange): void {
  let offset = 0;
  for (const v of c.statistics) {
    const sum = x.sumSlots(offset, new Float32Array(v.size));
    for (let k = 0; k < sum.length; k++) sum[k] = sum[k]! / c.replicas;
    tf.tidy(() => v.assign(tf.tensor(sum, v.shape, 'float32')));
    offset += v.size;
  }
}
