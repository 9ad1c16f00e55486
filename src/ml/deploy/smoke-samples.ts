// The inputs the on-device smoke test predicts, and the host's own predictions on them
// (onnxruntime-node here), so host and device can be compared logit by logit.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { IMAGENET_MEAN, IMAGENET_STD, normalize, resizeImage } from '../preprocess.ts';

export interface SmokeSamples {
  /** Names of the samples (image file names, or `synthetic-<i>`). */
  names: string[];
  inputName: string;
  /** Shape of one sample's tensor, batch 1: [1, 3, H, W]. */
  sampleShape: number[];
  /** All samples back to back, float32, normalised and laid out as the model takes them (host side). */
  inputs: Float32Array;
  /** The same samples as uint8 RGB HWC at the input size: what ships (4x smaller than `inputs`). */
  pixels: Uint8Array;
  /** The normalisation the device applies to `pixels` (preprocess.ts's, with the same arithmetic). */
  mean: number[];
  std: number[];
  /** Output name -> one logit vector per sample, from the host's onnxruntime. */
  hostOutputs: Record<string, number[][]>;
  /** Where the inputs came from, for the report. */
  origin: 'images' | 'synthetic';
}

/** The part of the export stage's model.json (OnnxSidecar) read here. */
interface Sidecar {
  input_size?: number;
}

const IMAGE_EXT = /\.(png|jpe?g|webp)$/i;

/**
 * Builds `count` samples for the model in `onnxDir`: the test images the export stage put in
 * `<onnxDir>/samples/`, else deterministic synthetic images (seeded), both through
 * src/ml/preprocess.ts, then laid out as the model's input (NCHW for brickflow's export).
 */
export async function buildSmokeSamples(onnxDir: string, count: number): Promise<SmokeSamples> {
  const session = await ort.InferenceSession.create(join(onnxDir, 'model.onnx'));
  const inputMeta = session.inputMetadata[0];
  if (!inputMeta) throw new Error(`bug: ${onnxDir}/model.onnx has no input`);
  const sidecar = readSidecar(onnxDir);
  const dims = 'shape' in inputMeta ? inputMeta.shape : [];
  const size = sidecar.input_size ?? (typeof dims[2] === 'number' ? dims[2] : 224);
  const channelsFirst = dims[1] === 3 || dims[3] !== 3;
  const sampleShape = channelsFirst ? [1, 3, size, size] : [1, size, size, 3];

  const sampleDir = join(onnxDir, 'samples');
  const files = existsSync(sampleDir) ? readdirSync(sampleDir).filter((f) => IMAGE_EXT.test(f)).sort().slice(0, count) : [];
  const origin = files.length > 0 ? 'images' : 'synthetic';
  const names = origin === 'images' ? files : Array.from({ length: count }, (_, i) => `synthetic-${i}`);
  const perSample = 3 * size * size;
  const inputs = new Float32Array(names.length * perSample);
  const pixels = new Uint8Array(names.length * perSample);
  for (let i = 0; i < names.length; i++) {
    const rgb = origin === 'images' ? await resizeImage(join(sampleDir, files[i]!), size) : syntheticRgb(size, i);
    pixels.set(rgb, i * perSample);
    const hwc = normalize(rgb);
    inputs.set(channelsFirst ? toChannelsFirst(hwc, size) : hwc, i * perSample);
  }

  const hostOutputs: Record<string, number[][]> = {};
  for (const name of session.outputNames) hostOutputs[name] = [];
  for (let i = 0; i < names.length; i++) {
    const feed = { [inputMeta.name]: new ort.Tensor('float32', inputs.slice(i * perSample, (i + 1) * perSample), sampleShape) };
    const result = await session.run(feed);
    for (const name of session.outputNames) hostOutputs[name]!.push(Array.from(result[name]!.data as Float32Array));
  }
  await session.release();
  return { names, inputName: inputMeta.name, sampleShape, inputs, pixels, mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD], hostOutputs, origin };
}

function readSidecar(onnxDir: string): Sidecar {
  const file = join(onnxDir, 'model.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Sidecar) : {};
}

/** A seeded picture with a coloured block on a light background: varied logits, same every run. */
function syntheticRgb(size: number, seed: number): Uint8Array {
  let s = (seed + 1) * 2654435761;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const colour = [rand() * 255, rand() * 255, rand() * 255];
  const x0 = Math.floor(rand() * size * 0.5), y0 = Math.floor(rand() * size * 0.5);
  const w = Math.floor(size * (0.25 + rand() * 0.4)), h = Math.floor(size * (0.25 + rand() * 0.4));
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const inside = x >= x0 && x < x0 + w && y >= y0 && y < y0 + h;
      for (let c = 0; c < 3; c++) out[(y * size + x) * 3 + c] = inside ? colour[c]! : 230 + Math.floor(rand() * 20);
    }
  }
  return out;
}

/** [H, W, 3] -> [3, H, W]. */
function toChannelsFirst(hwc: Float32Array, size: number): Float32Array {
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[c * plane + p] = hwc[p * 3 + c]!;
  return out;
}

export interface SmokeComparison {
  maxAbsDiff: number;
  /** Fraction of (sample, output) pairs whose argmax agrees. */
  top1Agreement: number;
  disagreements: string[];
}

/** Compares the device's logits with the host's. */
export function compareOutputs(samples: SmokeSamples, device: Record<string, number[][]>): SmokeComparison {
  let maxAbsDiff = 0;
  let agree = 0;
  let total = 0;
  const disagreements: string[] = [];
  for (const [name, hostRows] of Object.entries(samples.hostOutputs)) {
    const deviceRows = device[name];
    if (!deviceRows) {
      disagreements.push(`output ${name} missing on the device`);
      maxAbsDiff = Infinity;
      continue;
    }
    hostRows.forEach((row, i) => {
      const other = deviceRows[i] ?? [];
      for (let k = 0; k < row.length; k++) {
        const d = Math.abs(row[k]! - (other[k] ?? NaN));
        maxAbsDiff = Math.max(maxAbsDiff, Number.isNaN(d) ? Infinity : d);
      }
      total++;
      if (argmax(row) === argmax(other)) agree++;
      else disagreements.push(`${samples.names[i]}: ${name} argmax host ${argmax(row)} vs device ${argmax(other)}`);
    });
  }
  return { maxAbsDiff, top1Agreement: total === 0 ? 0 : agree / total, disagreements };
}

function argmax(row: number[]): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return row.length === 0 ? -1 : best;
}
