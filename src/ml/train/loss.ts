/**
 * The plan's multi-task loss (§3.1): cross-entropy with label smoothing on both heads,
 * weighted part 1.0 / color 0.5, per-sample (source) weights, and the color term masked
 * where the color is unknown — zero, not NaN, when a batch has no known color.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Per-sample smoothed cross-entropy: target = (1-ε)·onehot + ε/C, loss = -Σ target·log softmax.
 * logits [b, C], labels [b] int32 (a label < 0 gives an all-ε/C target; mask it out).
 */
export function smoothedCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, smoothing: number): tf.Tensor1D {
  return tf.tidy(() => {
    const nClasses = logits.shape[1];
    const target = tf.oneHot(labels, nClasses).toFloat().mul(1 - smoothing).add(smoothing / nClasses); // [b, C]
    return tf.logSoftmax(logits).mul(target).sum(1).neg() as tf.Tensor1D; // [b]
  });
}

export interface LossWeights {
  partWeight: number;      // the plan: 1.0
  colorWeight: number;     // the plan: 0.5
  labelSmoothing: number;  // the plan: 0.1
}

export interface BatchTargets {
  partIndex: tf.Tensor1D;   // [b] int32
  colorIndex: tf.Tensor1D;  // [b] int32, -1 = unknown
  weight: tf.Tensor1D;      // [b] per-sample weight (source weight × cache weight)
  /** [b] 1 where the color head may learn from this sample (option B: legacy + real only); default all 1. */
  colorAllowed?: tf.Tensor1D;
}

export interface LossParts {
  total: tf.Scalar;
  part: tf.Scalar;
  color: tf.Scalar;
}

/**
 * The weight sums the two terms are divided by. A replica of data-parallel training passes
 * those of the whole global batch, so the replicas' losses (and gradients) add up to the
 * global batch's; default: the sums over this batch.
 */
export interface LossDenominators {
  part: number;
  color: number;
}

/** Weighted mean of `values` with weights `w` (divided by `total` when given, else by Σw); 0 when the divisor is 0. */
function weightedMean(values: tf.Tensor1D, w: tf.Tensor1D, total?: number): tf.Scalar {
  const den = total === undefined ? w.sum() : tf.scalar(total);
  // where(den > 0) rather than a division by max(den, ε): exact 0 for an empty mask, never NaN.
  return tf.where(den.greater(0), values.mul(w).sum().div(tf.maximum(den, 1e-12)), tf.scalar(0)) as tf.Scalar;
}

/** The plan's loss for one batch. */
export function multiTaskLoss(partLogits: tf.Tensor2D, colorLogits: tf.Tensor2D, t: BatchTargets, cfg: LossWeights, denominators?: LossDenominators): LossParts {
  return tf.tidy(() => {
    const partCe = smoothedCrossEntropy(partLogits, t.partIndex, cfg.labelSmoothing);
    // Unknown colors (-1) would index nothing: clamp for the gather, then mask to weight 0.
    const known = t.colorIndex.greaterEqual(0).toFloat() as tf.Tensor1D;
    const colorMask = (t.colorAllowed ? known.mul(t.colorAllowed) : known) as tf.Tensor1D;
    const colorCe = smoothedCrossEntropy(colorLogits, tf.maximum(t.colorIndex, tf.scalar(0, 'int32')) as tf.Tensor1D, cfg.labelSmoothing);
    const part = weightedMean(partCe, t.weight, denominators?.part);
    const color = weightedMean(colorCe, t.weight.mul(colorMask) as tf.Tensor1D, denominators?.color);
    const total = part.mul(cfg.partWeight).add(color.mul(cfg.colorWeight)) as tf.Scalar;
    return { total, part, color };
  });
}
