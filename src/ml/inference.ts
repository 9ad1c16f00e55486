// ClassifierLoader: loads an exported model (model.onnx + model.json) and predicts part and color from image bytes, preprocessing exactly as training does.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { OnnxSidecar } from './onnx/export-classifier.ts';
import { nhwcToNchw, openSession } from './onnx/ort-session.ts';
import { topClasses } from './metrics/ranking.ts';
import { IMAGENET_MEAN, IMAGENET_STD, normalize, resizeImage } from './preprocess.ts';

export interface Prediction {
  part_id: string;
  part_confidence: number;
  /** null for a part-only model (trained on data with no color labels): it knows no color. */
  color_id: number | null;
  color_name: string | null;
  color_confidence: number | null;
  top5: Array<{ part_id: string; confidence: number }>;
}

export type ImageProblem = { reason: 'empty-image' | 'not-an-image'; message: string };
export type PredictResult = { ok: true; prediction: Prediction } | { ok: false; problem: ImageProblem };
export type LoadResult = { ok: true; loader: ClassifierLoader } | { ok: false; message: string };

export interface LoadOptions {
  /** onnxruntime intra-op threads; 0 = all cores. */
  threads?: number;
}

/** Softmax of logits[offset .. offset+n), in float64 with the max subtracted for stability. */
export function softmax(logits: Float32Array, offset = 0, n = logits.length): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[offset + i]);
  const out = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += out[i] = Math.exp(logits[offset + i] - max);
  for (let i = 0; i < n; i++) out[i] /= sum;
  return out;
}

const round4 = (v: number) => Math.round(v * 1e4) / 1e4;

/** A loaded classifier; predictions run one at a time on one onnxruntime session. */
export class ClassifierLoader {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly sidecar: OnnxSidecar,
    readonly dir: string,
  ) {}

  /** Opens `dir`/model.onnx with its model.json; the result names the file when something is missing or inconsistent. */
  static async load(dir: string, options: LoadOptions = {}): Promise<LoadResult> {
    const modelFile = join(dir, 'model.onnx');
    const sidecarFile = join(dir, 'model.json');
    for (const f of [modelFile, sidecarFile]) if (!existsSync(f)) return { ok: false, message: `${f}: not found (run \`npx pipeline run export\` first)` };
    let sidecar: OnnxSidecar;
    try {
      sidecar = JSON.parse(readFileSync(sidecarFile, 'utf8')) as OnnxSidecar;
    } catch (e) {
      return { ok: false, message: `${sidecarFile}: not valid JSON (${(e as Error).message})` };
    }
    if (!sidecar.labels?.parts?.length || !sidecar.labels?.colors?.length || !sidecar.input_size)
      return { ok: false, message: `${sidecarFile}: needs labels.parts, labels.colors and input_size` };
    // normalize() bakes in ImageNet statistics; a model exported with others must not be fed these.
    const same = (a: readonly number[] | undefined, b: readonly number[]) => a?.length === b.length && a.every((v, i) => Math.abs(v - b[i]) < 1e-9);
    if (!same(sidecar.mean, IMAGENET_MEAN) || !same(sidecar.std, IMAGENET_STD))
      return { ok: false, message: `${sidecarFile}: mean/std differ from the ImageNet values src/ml/preprocess.ts uses` };
    let session: ort.InferenceSession;
    try {
      session = await openSession(modelFile, options.threads ?? 0);
    } catch (e) {
      return { ok: false, message: `${modelFile}: onnxruntime cannot load it (${(e as Error).message})` };
    }
    for (const name of ['part_logits', 'color_logits'])
      if (!session.outputNames.includes(name)) return { ok: false, message: `${modelFile}: no output named ${name}` };
    return { ok: true, loader: new ClassifierLoader(session, sidecar, dir) };
  }

  get version(): string {
    return this.sidecar.version;
  }

  /**
   * The model input for an image, NCHW float32 [1, 3, S, S]: the training path's resize
   * (src/ml/preprocess.ts resizeImage) and normalisation, then channels first.
   */
  async preprocess(imageBytes: Uint8Array): Promise<{ ok: true; input: Float32Array } | { ok: false; problem: ImageProblem }> {
    if (imageBytes.length === 0) return { ok: false, problem: { reason: 'empty-image', message: 'the image is empty (0 bytes)' } };
    const size = this.sidecar.input_size;
    let rgb: Uint8Array;
    try {
      rgb = await resizeImage(Buffer.from(imageBytes.buffer, imageBytes.byteOffset, imageBytes.byteLength), size);
    } catch (e) {
      return { ok: false, problem: { reason: 'not-an-image', message: `cannot decode the image: ${(e as Error).message}` } };
    }
    return { ok: true, input: nhwcToNchw(normalize(rgb), 1, size, size, 3) };
  }

  async predict(imageBytes: Uint8Array): Promise<PredictResult> {
    const pre = await this.preprocess(imageBytes);
    if (!pre.ok) return pre;
    const size = this.sidecar.input_size;
    const feeds = { [this.session.inputNames[0]]: new ort.Tensor('float32', pre.input, [1, 3, size, size]) };
    // One run at a time: requests queue here instead of oversubscribing the cores.
    const run = this.queue.then(() => this.session.run(feeds));
    this.queue = run.catch(() => undefined);
    const out = await run;
    return { ok: true, prediction: this.decode(out['part_logits'].data as Float32Array, out['color_logits'].data as Float32Array) };
  }

  private decode(partLogits: Float32Array, colorLogits: Float32Array): Prediction {
    const { parts, colors } = this.sidecar.labels;
    const partProb = softmax(partLogits);
    const order = topClasses(partProb, 5);
    // A part-only model's color head never saw a label: its answer would be a confident guess.
    const colorProb = this.sidecar.labels.part_only ? null : softmax(colorLogits);
    const color = colorProb ? topClasses(colorProb, 1)[0]! : -1;
    return {
      part_id: parts[order[0]],
      part_confidence: round4(partProb[order[0]]),
      color_id: colorProb ? colors[color].id : null,
      color_name: colorProb ? colors[color].name : null,
      color_confidence: colorProb ? round4(colorProb[color]) : null,
      top5: order.slice(0, 5).map((i) => ({ part_id: parts[i], confidence: round4(partProb[i]) })),
    };
  }

  async close(): Promise<void> {
    await this.queue;
    await this.session.release();
  }
}
