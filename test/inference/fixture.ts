// Test fixture: a tiny two-head model exported with the real export step into a temp folder, plus test images on disk.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { exportClassifier, type ClassifierLabels, type ExportSettings } from '../../src/ml/onnx/export-classifier.ts';
import { preprocessSpec } from '../../src/ml/preprocess.ts';
import { efficientNetLike } from '../export/tiny-models.ts';

export const LABELS: ClassifierLabels = {
  parts: ['3001', '3003', '3020', '3022', '3039', '3040', '3062'],
  colors: [
    { id: 0, name: 'Black' },
    { id: 1, name: 'Blue' },
    { id: 4, name: 'Red' },
    { id: 14, name: 'Yellow' },
    { id: 15, name: 'White' },
  ],
};

export const SETTINGS: ExportSettings = {
  parity: { max_abs_diff: 1e-4, batch_size: 4, max_images: 0 },
  latency: { warmup: 2, runs: 5, estimate_basis: 'p50_all' },
  device: { name: 'test-device', slowdown_factor: 10, reference_ms: 63, calibrate: false },
  samples: 2,
};

export interface Fixture {
  dir: string;
  modelDir: string;
  model: tf.LayersModel;
  /** A 40x30 RGBA PNG with a transparent corner (exercises resize and flattening). */
  pngFile: string;
  /** A JPEG of another picture. */
  jpegFile: string;
  notImageFile: string;
}

/** Deterministic RGB pixels (a coloured block on a gradient). */
function picture(w: number, h: number, channels: 3 | 4, hue: number): Buffer {
  const out = Buffer.alloc(w * h * channels);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * channels;
      const block = x > w / 4 && x < (3 * w) / 4 && y > h / 3;
      out[o] = block ? hue : (x * 6) % 256;
      out[o + 1] = block ? 255 - hue : (y * 8) % 256;
      out[o + 2] = (x + y * 2) % 256;
      if (channels === 4) out[o + 3] = x < 6 && y < 6 ? 0 : 255;
    }
  return out;
}

export async function makeFixture(size = 32): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'brickflow-inference-'));
  const model = efficientNetLike(size, LABELS.parts.length, LABELS.colors.length);
  const n = 4;
  const images = new Uint8Array(n * size * size * 3);
  for (let i = 0; i < n; i++) images.set(picture(size, size, 3, 60 * i), i * size * size * 3);
  const modelDir = join(dir, 'onnx');
  const outcome = await exportClassifier({ model, labels: LABELS, preprocess: preprocessSpec(size), images: { n, size, images }, outDir: modelDir, settings: SETTINGS });
  if (!outcome.ok) throw new Error(`fixture export failed: ${outcome.message}`);
  const pngFile = join(dir, 'brick.png');
  await sharp(picture(40, 30, 4, 200), { raw: { width: 40, height: 30, channels: 4 } }).png().toFile(pngFile);
  const jpegFile = join(dir, 'brick.jpg');
  await sharp(picture(50, 50, 3, 20), { raw: { width: 50, height: 50, channels: 3 } }).jpeg({ quality: 90 }).toFile(jpegFile);
  const notImageFile = join(dir, 'notes.txt');
  await writeFile(notImageFile, 'this is not a picture of a brick\n');
  return { dir, modelDir, model, pngFile, jpegFile, notImageFile };
}
