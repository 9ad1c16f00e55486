/**
 * Runs the two-headed classifier over chosen samples of a cached split, in batches, and
 * returns the raw logits of both heads (the input of evaluateClassifier).
 */
import * as tf from '@tensorflow/tfjs';
import { normalize } from '../preprocess.ts';

/** The part of a cached split (docs/contracts.md CachedSplit) that inference needs. */
export interface ImageSplit {
  height: number;
  width: number;
  /** n * height * width * 3, uint8 RGB HWC. */
  images: Uint8Array;
}

export interface Logits {
  /** Row-major [rows.length, nParts]. */
  partLogits: Float32Array;
  /** Row-major [rows.length, nColors]. */
  colorLogits: Float32Array;
  nParts: number;
  nColors: number;
}

/** The model's outputs are not [part_logits, color_logits] as docs/contracts.md says. */
export class ModelOutputError extends Error {}

function outputWidth(model: tf.LayersModel, k: number): number {
  const shape = model.outputs[k]?.shape;
  const width = shape?.[shape.length - 1];
  if (typeof width !== 'number') throw new ModelOutputError(`model output ${k} has shape ${JSON.stringify(shape)}; expected [batch, classes]`);
  return width;
}

/**
 * Logits of `rows` (sample indices into the split), `batchSize` images at a time, each
 * normalised by preprocess.ts. `onBatch(done)` is called after each batch (for progress).
 */
export async function collectLogits(
  model: tf.LayersModel,
  split: ImageSplit,
  rows: readonly number[],
  batchSize: number,
  onBatch: (done: number) => void = () => {},
): Promise<Logits> {
  if (model.outputs.length !== 2) {
    throw new ModelOutputError(`model has ${model.outputs.length} output(s); expected 2 (part_logits, color_logits)`);
  }
  const nParts = outputWidth(model, 0);
  const nColors = outputWidth(model, 1);
  const pixels = split.height * split.width * 3;
  const partLogits = new Float32Array(rows.length * nParts);
  const colorLogits = new Float32Array(rows.length * nColors);
  for (let start = 0; start < rows.length; start += batchSize) {
    const count = Math.min(batchSize, rows.length - start);
    const batch = new Float32Array(count * pixels);
    for (let k = 0; k < count; k++) {
      const row = rows[start + k]!;
      normalize(split.images.subarray(row * pixels, (row + 1) * pixels), batch.subarray(k * pixels, (k + 1) * pixels));
    }
    // [count, H, W, 3] -> [[count, nParts], [count, nColors]]
    const [part, color] = tf.tidy(() => {
      const out = model.predict(tf.tensor4d(batch, [count, split.height, split.width, 3]), { batchSize: count }) as tf.Tensor[];
      return [out[0]!, out[1]!];
    });
    partLogits.set(await part!.data(), start * nParts);
    colorLogits.set(await color!.data(), start * nColors);
    part!.dispose();
    color!.dispose();
    onBatch(start + count);
  }
  return { partLogits, colorLogits, nParts, nColors };
}
