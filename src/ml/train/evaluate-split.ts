/**
 * Validation figures during training: part top-1 / top-5 and color accuracy over the
 * samples whose color is known, in inference mode, scored as evaluate scores
 * (src/ml/metrics/ranking.ts: one ranking and tie rule for train and evaluate).
 */
import type * as tf from '@tensorflow/tfjs';
import { collectLogits } from '../metrics/collect-logits.ts';
import { scoreLogits } from '../metrics/ranking.ts';
import type { TrainingSplit } from './batch.ts';

export interface SplitScores {
  part_top1: number;
  part_top5: number;
  color_acc: number | null;   // null when no sample has a known color (part-only data)
  n: number;
  n_known_color: number;
}

export async function evaluateSplit(model: tf.LayersModel, split: TrainingSplit, batchSize: number): Promise<SplitScores> {
  const rows = Array.from({ length: split.n }, (_, i) => i);
  const logits = await collectLogits(model, split, rows, batchSize);
  const s = scoreLogits(logits, split.partIndex, split.colorIndex, 5);
  return { part_top1: s.part_top1, part_top5: s.part_topk, color_acc: s.color_acc, n: s.n, n_known_color: s.n_known_color };
}
