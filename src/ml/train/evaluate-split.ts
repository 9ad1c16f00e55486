/**
 * Validation figures during training: part top-1 / top-5 and color accuracy over the
 * samples whose color is known, computed batch by batch in inference mode.
 */
import * as tf from '@tensorflow/tfjs';
import { imageBatch, type TrainingSplit } from './batch.ts';

export interface SplitScores {
  part_top1: number;
  part_top5: number;
  color_acc: number | null;   // null when no sample has a known color (part-only data)
  n: number;
  n_known_color: number;
}

export function evaluateSplit(model: tf.LayersModel, split: TrainingSplit, batchSize: number): SplitScores {
  let top1 = 0, top5 = 0, colorHits = 0, known = 0;
  for (let start = 0; start < split.n; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, split.n - start) }, (_, k) => start + k);
    const [partTop, colorTop] = tf.tidy(() => {
      const [part, color] = model.predict(imageBatch(split, idx)) as [tf.Tensor2D, tf.Tensor2D];
      const k = Math.min(5, part.shape[1]);
      return [tf.topk(part, k).indices.arraySync() as number[][], color.argMax(1).arraySync() as number[]];
    });
    idx.forEach((i, r) => {
      const truth = split.partIndex[i]!;
      if (partTop[r]![0] === truth) top1++;
      if (partTop[r]!.includes(truth)) top5++;
      const c = split.colorIndex[i]!;
      if (c >= 0) { known++; if (colorTop[r] === c) colorHits++; }
    });
  }
  const n = Math.max(split.n, 1);
  return { part_top1: top1 / n, part_top5: top5 / n, color_acc: known ? colorHits / known : null, n: split.n, n_known_color: known };
}
