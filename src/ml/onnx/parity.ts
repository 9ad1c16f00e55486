// Checks an exported ONNX model against the tfjs model it came from, logit by logit, on real images.
import * as tf from '@tensorflow/tfjs';
import type * as ort from 'onnxruntime-node';
import { normalize } from '../preprocess.ts';
import { runNhwc } from './ort-session.ts';

export interface ParityImages {
  n: number;
  size: number;
  /** uint8 RGB HWC, n * size * size * 3. */
  images: Uint8Array;
}

export interface OutputParity {
  max_abs_diff: number;
  /** Fraction of images whose argmax is the same in both runtimes. */
  argmax_agreement: number;
  /** Indices of the first few images whose argmax differs. */
  disagreeing: number[];
}

export interface ParityReport {
  images: number;
  max_abs_diff: number;
  argmax_agreement: number;
  per_output: Record<string, OutputParity>;
}

export interface ParityOptions {
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/** The tfjs model's logits on every image (batched), one flat [n, classes] array per output. */
export function referenceLogits(model: tf.LayersModel, data: ParityImages, options: ParityOptions = {}): Float32Array[] {
  const batchSize = options.batchSize ?? 16;
  const chunks: Float32Array[][] = [];
  for (let start = 0; start < data.n; start += batchSize) {
    const n = Math.min(batchSize, data.n - start);
    const batch = normalizeBatch(data, start, n);
    chunks.push(
      tf.tidy(() => {
        const raw = model.predict(tf.tensor4d(batch, [n, data.size, data.size, 3]));
        return (Array.isArray(raw) ? raw : [raw]).map((t) => t.dataSync() as Float32Array);
      }),
    );
    options.onProgress?.(start + n, data.n);
  }
  const outputs = model.outputs.length;
  return Array.from({ length: outputs }, (_, k) => {
    const total = chunks.reduce((s, c) => s + c[k].length, 0);
    const out = new Float32Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c[k], at);
      at += c[k].length;
    }
    return out;
  });
}

function normalizeBatch(data: ParityImages, start: number, n: number): Float32Array {
  const pixels = data.size * data.size * 3;
  const batch = new Float32Array(n * pixels);
  for (let i = 0; i < n; i++) normalize(data.images.subarray((start + i) * pixels, (start + i + 1) * pixels), batch.subarray(i * pixels, (i + 1) * pixels));
  return batch;
}

/** Runs the ONNX model on every image and compares with the reference logits: worst difference and argmax agreement per output. */
export async function compareWithReference(reference: Float32Array[], session: ort.InferenceSession, outputNames: string[], data: ParityImages, options: ParityOptions = {}): Promise<ParityReport> {
  const batchSize = options.batchSize ?? 16;
  const stats = outputNames.map(() => ({ maxDiff: 0, agree: 0, disagreeing: [] as number[] }));
  for (let start = 0; start < data.n; start += batchSize) {
    const n = Math.min(batchSize, data.n - start);
    const onnxOut = await runNhwc(session, normalizeBatch(data, start, n), n, data.size);
    outputNames.forEach((name, k) => {
      const classes = reference[k].length / data.n;
      const a = reference[k].subarray(start * classes, (start + n) * classes);
      const b = onnxOut[name];
      if (!b || b.length !== a.length) throw new Error(`bug: ONNX output ${name} has ${b?.length ?? 0} values, tfjs ${a.length}`);
      for (let i = 0; i < n; i++) {
        let argA = 0;
        let argB = 0;
        for (let j = 0; j < classes; j++) {
          const x = a[i * classes + j];
          const y = b[i * classes + j];
          const d = Math.abs(x - y);
          // NaN on either side must fail parity, so it counts as an infinite difference.
          stats[k].maxDiff = Math.max(stats[k].maxDiff, Number.isNaN(d) ? Infinity : d);
          if (x > a[i * classes + argA]) argA = j;
          if (y > b[i * classes + argB]) argB = j;
        }
        if (argA === argB) stats[k].agree++;
        else if (stats[k].disagreeing.length < 10) stats[k].disagreeing.push(start + i);
      }
    });
    options.onProgress?.(start + n, data.n);
  }
  const per_output: Record<string, OutputParity> = {};
  outputNames.forEach((name, k) => {
    per_output[name] = { max_abs_diff: stats[k].maxDiff, argmax_agreement: data.n === 0 ? 1 : stats[k].agree / data.n, disagreeing: stats[k].disagreeing };
  });
  const all = Object.values(per_output);
  return {
    images: data.n,
    max_abs_diff: Math.max(0, ...all.map((p) => p.max_abs_diff)),
    argmax_agreement: Math.min(1, ...all.map((p) => p.argmax_agreement)),
    per_output,
  };
}

/** Both steps at once: tfjs reference logits, then the ONNX comparison. */
export async function checkParity(model: tf.LayersModel, session: ort.InferenceSession, outputNames: string[], data: ParityImages, options: ParityOptions = {}): Promise<ParityReport> {
  return compareWithReference(referenceLogits(model, data, options), session, outputNames, data, options);
}
