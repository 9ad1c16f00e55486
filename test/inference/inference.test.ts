// ClassifierLoader: loads an exported model and predicts from image bytes, preprocessing as training does.
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClassifierLoader, softmax } from '../../src/ml/inference.ts';
import { nhwcToNchw } from '../../src/ml/onnx/ort-session.ts';
import { normalize, resizeImage } from '../../src/ml/preprocess.ts';
import { LABELS, makeFixture, type Fixture } from './fixture.ts';

let fx: Fixture;
let loader: ClassifierLoader;

beforeAll(async () => {
  fx = await makeFixture();
  const loaded = await ClassifierLoader.load(fx.modelDir, { threads: 1 });
  if (!loaded.ok) throw new Error(loaded.message);
  loader = loaded.loader;
});
afterAll(async () => {
  await loader?.close();
  if (fx) await rm(fx.dir, { recursive: true, force: true });
});

describe('the export step writes what inference needs', () => {
  it('model.onnx, a model.json sidecar whose version is the model file hash, and sample images for deploy', async () => {
    const sidecar = JSON.parse(readFileSync(join(fx.modelDir, 'model.json'), 'utf8'));
    const { createHash } = await import('node:crypto');
    const hash = createHash('sha256').update(readFileSync(join(fx.modelDir, 'model.onnx'))).digest('hex');
    expect(sidecar.version).toBe(hash.slice(0, 16));
    expect(sidecar).toMatchObject({ input_size: 32, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], outputs: ['part_logits', 'color_logits'], labels: LABELS });
    expect(existsSync(join(fx.modelDir, 'samples', 'test_000.png'))).toBe(true);
    expect(loader.version).toBe(sidecar.version);
  });
});

describe('ClassifierLoader', () => {
  it('feeds the model the same tensor as the training path (resizeImage + normalize) for the same image', async () => {
    for (const file of [fx.pngFile, fx.jpegFile]) {
      const pre = await loader.preprocess(await readFile(file));
      if (!pre.ok) throw new Error(pre.problem.message);
      const trainingPath = nhwcToNchw(normalize(await resizeImage(file, 32)), 1, 32, 32, 3);
      expect(pre.input).toEqual(trainingPath);
    }
  });

  it('predicts a part and color from the labels with confidences that are the softmax of the tfjs logits', async () => {
    const result = await loader.predict(await readFile(fx.pngFile));
    if (!result.ok) throw new Error(result.problem.message);
    const p = result.prediction;
    const x = tf.tensor4d(normalize(await resizeImage(fx.pngFile, 32)), [1, 32, 32, 3]);
    const [partLogits, colorLogits] = (fx.model.predict(x) as tf.Tensor[]).map((t) => t.dataSync() as Float32Array);
    const partProb = softmax(partLogits);
    const colorProb = softmax(colorLogits);
    const bestPart = partProb.indexOf(Math.max(...partProb));
    const bestColor = colorProb.indexOf(Math.max(...colorProb));
    expect(p.part_id).toBe(LABELS.parts[bestPart]);
    expect(p.part_confidence).toBeCloseTo(partProb[bestPart], 3);
    expect(p.color_id).toBe(LABELS.colors[bestColor].id);
    expect(p.color_name).toBe(LABELS.colors[bestColor].name);
    expect(p.color_confidence).toBeCloseTo(colorProb[bestColor], 3);
    expect(p.top5).toHaveLength(5);
    expect(p.top5[0]).toEqual({ part_id: p.part_id, confidence: p.part_confidence });
    const confidences = p.top5.map((t) => t.confidence);
    expect(confidences).toEqual([...confidences].sort((a, b) => b - a));
    expect(new Set(p.top5.map((t) => t.part_id)).size).toBe(5);
  });

  it('answers bytes that are not an image, and empty bytes, with a typed problem', async () => {
    const notImage = await loader.predict(await readFile(fx.notImageFile));
    expect(notImage).toMatchObject({ ok: false, problem: { reason: 'not-an-image' } });
    expect(await loader.predict(new Uint8Array(0))).toMatchObject({ ok: false, problem: { reason: 'empty-image' } });
    const truncated = (await readFile(fx.jpegFile)).subarray(0, 200);
    expect(await loader.predict(truncated)).toMatchObject({ ok: false, problem: { reason: 'not-an-image' } });
  });

  it('gives the same answers to concurrent predictions as to sequential ones', async () => {
    const png = await readFile(fx.pngFile);
    const jpg = await readFile(fx.jpegFile);
    const sequential = [await loader.predict(png), await loader.predict(jpg)];
    const concurrent = await Promise.all(Array.from({ length: 6 }, (_, i) => loader.predict(i % 2 ? jpg : png)));
    concurrent.forEach((r, i) => expect(r).toEqual(sequential[i % 2]));
  });

  it('refuses to load a folder without an exported model, naming the missing file', async () => {
    const loaded = await ClassifierLoader.load(join(fx.dir, 'nowhere'));
    expect(loaded.ok).toBe(false);
    if (!loaded.ok) expect(loaded.message).toMatch(/nowhere\/model\.onnx: not found/);
  });
});

describe('pipeline predict', () => {
  const runPredict = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'test/inference/command-runner.ts', 'predict', ...args], { encoding: 'utf8', cwd: join(import.meta.dirname, '../..') });

  it('prints part, color and top-5 for each image', () => {
    const r = runPredict(['--model', fx.modelDir, '--threads', '1', fx.pngFile, fx.jpegFile]);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/brick\.png: part \d+ \([\d.]+%\), color \d+ \w+ \([\d.]+%\); top-5: /);
  });

  it('--json prints one object per image, and a bad file makes the exit code 1 without stopping the others', () => {
    const r = runPredict(['--model', fx.modelDir, '--json', fx.notImageFile, fx.jpegFile]);
    expect(r.status).toBe(1);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows[0]).toMatchObject({ file: fx.notImageFile, error: 'not-an-image' });
    expect(rows[1]).toMatchObject({ file: fx.jpegFile, model_version: loader.version });
    expect(LABELS.parts).toContain(rows[1].part_id);
  });

  it('exits 2 with usage when no image is given, and 1 naming the file when there is no model', () => {
    const noArgs = runPredict([]);
    expect(noArgs.status).toBe(2);
    expect(noArgs.stderr).toMatch(/no image given[\s\S]*usage: pipeline predict/);
    const noModel = runPredict(['--model', join(fx.dir, 'missing'), fx.pngFile]);
    expect(noModel.status).toBe(1);
    expect(noModel.stderr).toMatch(/missing\/model\.onnx: not found/);
  });
});

describe('a part-only model (trained on data with no color labels)', () => {
  it('ClassifierLoader and `predict` return no color', async () => {
    const { cp, writeFile } = await import('node:fs/promises');
    const dir = join(fx.dir, 'part-only');
    await cp(fx.modelDir, dir, { recursive: true });
    const sidecar = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    await writeFile(join(dir, 'model.json'), JSON.stringify({ ...sidecar, labels: { ...sidecar.labels, part_only: true } }));
    const loaded = await ClassifierLoader.load(dir, { threads: 1 });
    if (!loaded.ok) throw new Error(loaded.message);
    const result = await loaded.loader.predict(await readFile(fx.jpegFile));
    await loaded.loader.close();
    expect(result.ok && result.prediction).toMatchObject({ color_id: null, color_name: null, color_confidence: null });
    expect(LABELS.parts).toContain(result.ok && result.prediction.part_id);
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/inference/command-runner.ts', 'predict', '--model', dir, '--threads', '1', fx.jpegFile], { encoding: 'utf8', cwd: join(import.meta.dirname, '../..') });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/: part \d+ \([\d.]+%\), color n\/a \(part-only model\); top-5: /);
  });
});
