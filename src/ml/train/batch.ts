/**
 * Turning cached images into model batches: gather rows of a split by index, normalise
 * them through src/ml/preprocess.ts, and build the loss targets.
 */
import * as tf from '@tensorflow/tfjs';
import { normalize } from '../preprocess.ts';
import type { BatchTargets, LossDenominators } from './loss.ts';

/** The fields of the augment cache's CachedSplit (docs/contracts.md) that training reads. */
export interface TrainingSplit {
  n: number; height: number; width: number;
  images: Uint8Array;          // n * height * width * 3, uint8 RGB HWC
  partIndex: Int32Array;
  colorIndex: Int32Array;      // -1 = unknown
  source: string[];
  weight: Float32Array;
}

/** Normalised images of `indices`: [b, H, W, 3] float32. */
export function imageBatch(split: TrainingSplit, indices: ArrayLike<number>): tf.Tensor4D {
  const pixels = split.height * split.width * 3;
  const data = new Float32Array(indices.length * pixels);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    normalize(split.images.subarray(i * pixels, (i + 1) * pixels), data.subarray(k * pixels, (k + 1) * pixels));
  }
  return tf.tensor4d(data, [indices.length, split.height, split.width, 3]);
}

export interface SampleWeighting {
  /** Source -> weight (the plan: real 3.0); missing sources weigh 1. Multiplies the cache's weight. */
  sourceWeights: Record<string, number>;
  /** Sources the color head learns from (option B: legacy + real); undefined = all. */
  colorSources?: string[];
}

interface TargetArrays {
  part: Int32Array;
  color: Int32Array;
  weight: Float32Array;
  allowed: Float32Array;       // 1 where the color head may learn from the sample
}

function targetArrays(split: TrainingSplit, indices: ArrayLike<number>, w: SampleWeighting): TargetArrays {
  const b = indices.length;
  const part = new Int32Array(b);
  const color = new Int32Array(b);
  const weight = new Float32Array(b);
  const allowed = new Float32Array(b);
  for (let k = 0; k < b; k++) {
    const i = indices[k]!;
    part[k] = split.partIndex[i]!;
    color[k] = split.colorIndex[i]!;
    const source = split.source[i]!;
    weight[k] = (w.sourceWeights[source] ?? 1) * split.weight[i]!;
    allowed[k] = w.colorSources == null || w.colorSources.includes(source) ? 1 : 0;
  }
  return { part, color, weight, allowed };
}

/** Loss targets of `indices` (caller disposes the tensors, e.g. inside tf.tidy). */
export function targetBatch(split: TrainingSplit, indices: ArrayLike<number>, w: SampleWeighting): BatchTargets {
  const t = targetArrays(split, indices, w);
  return {
    partIndex: tf.tensor1d(t.part, 'int32'),
    colorIndex: tf.tensor1d(t.color, 'int32'),
    weight: tf.tensor1d(t.weight),
    colorAllowed: w.colorSources == null ? undefined : tf.tensor1d(t.allowed),
  };
}

/** The loss's weight sums over a whole batch (part: Σw; color: Σw over known, allowed colors), in float32 as tf sums them. */
export function lossDenominators(split: TrainingSplit, indices: ArrayLike<number>, w: SampleWeighting): LossDenominators {
  const t = targetArrays(split, indices, w);
  let part = 0, color = 0;
  for (let k = 0; k < t.weight.length; k++) {
    part = Math.fround(part + t.weight[k]!);
    if (t.color[k]! >= 0) color = Math.fround(color + t.weight[k]! * t.allowed[k]!);
  }
  return { part, color };
}
