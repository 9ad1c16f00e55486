/**
 * Evaluates a model on the real images of a cached test split: picks the rows, runs the
 * model (collectLogits) and scores it (evaluateClassifier). The evaluate stage's core.
 */
import type * as tf from '@tensorflow/tfjs';
import type { CachedSplit } from '../augment-cache-reader.ts';
import { collectLogits } from './collect-logits.ts';
import { evaluateClassifier, type Evaluation, type EvaluationOptions } from './evaluate-classifier.ts';

/** The fields of the augment cache's CachedSplit that evaluation reads. */
export type TestSplit = Pick<CachedSplit, 'n' | 'height' | 'width' | 'images' | 'partIndex' | 'colorIndex' | 'source' | 'path'>;

export interface SplitEvaluation {
  evaluation: Evaluation;
  /** rows[i] = the split row of evaluated sample i. */
  rows: number[];
  /** Test samples from other sources, left out (validation and test use real captures only). */
  leftOut: number;
}

export type SplitEvaluationResult = { ok: true; value: SplitEvaluation } | { ok: false; message: string };

export async function evaluateTestSplit(args: {
  model: tf.LayersModel;
  split: TestSplit;
  options: EvaluationOptions;
  batchSize: number;
  /** Only samples of this source count (the plan: the real test split). */
  source: string;
  onBatch?: (done: number, total: number) => void;
}): Promise<SplitEvaluationResult> {
  const { model, split, source } = args;
  const rows: number[] = [];
  for (let i = 0; i < split.n; i++) if (split.source[i] === source) rows.push(i);
  if (rows.length === 0) {
    const seen = [...new Set(split.source)].join(', ') || 'none';
    return { ok: false, message: `the test split has no "${source}" images (${split.n} images, sources: ${seen}); nothing to evaluate` };
  }
  const inputShape = model.inputs[0]?.shape;
  if (inputShape && (inputShape[1] !== split.height || inputShape[2] !== split.width)) {
    return { ok: false, message: `test images are ${split.width}x${split.height} but the model takes ${inputShape[2]}x${inputShape[1]}; rerun augment-cache with the model's input_size` };
  }
  const logits = await collectLogits(model, split, rows, args.batchSize, (done) => args.onBatch?.(done, rows.length));
  const evaluation = evaluateClassifier(
    {
      ...logits,
      partIndex: Int32Array.from(rows, (r) => split.partIndex[r]!),
      colorIndex: Int32Array.from(rows, (r) => split.colorIndex[r]!),
    },
    args.options,
  );
  return { ok: true, value: { evaluation, rows, leftOut: split.n - rows.length } };
}
