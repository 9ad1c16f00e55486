import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveModel } from '../../src/ml/model/model-io.ts';
import { normalize } from '../../src/ml/preprocess.ts';
import { CACHE_FORMAT } from '../../src/ml/augment/cache-key.ts';
import type { CacheIndex, SplitIndex } from '../../src/ml/augment/cache-layout.ts';

// A temp project with a real (tiny, hand-weighted) tfjs model in artifacts/model and a real
// augment cache, evaluated by running stages/evaluate.ts as the engine would.
const REPO = resolve(import.meta.dirname, '../..');
const SIZE = 8;
const labels = {
  parts: ['3001', '3003', '3004', '3020'],
  colors: [
    { id: 4, name: 'Red', rgb: 'C91A09' },
    { id: 2, name: 'Green', rgb: '237841' },
    { id: 1, name: 'Blue', rgb: '0055BF' },
  ],
};
const RGB: [number, number, number][] = [[200, 30, 30], [30, 200, 30], [30, 30, 200]];

interface Sample { part: number; color: number; shade: number; source: string }
// 14 real test images (2 with unknown color) and 1 b200c image that must be left out.
const samples: Sample[] = [
  ...Array.from({ length: 14 }, (_, i) => ({ part: i % 4, color: i % 7 === 6 ? -1 : i % 3, shade: i, source: 'real' })),
  { part: 0, color: -1, shade: 3, source: 'b200c' },
];

function imageOf(s: Sample): Uint8Array {
  const px = new Uint8Array(SIZE * SIZE * 3);
  const rgb = RGB[s.color < 0 ? s.shade % 3 : s.color]!;
  for (let k = 0; k < SIZE * SIZE; k++) for (let c = 0; c < 3; c++) px[k * 3 + c] = Math.min(255, rgb[c]! + ((s.shade * 11 + k) % 40));
  return px;
}

/** Input -> mean colour -> part head (seeded random weights) and color head (the channel means themselves). */
function buildModel(): tf.LayersModel {
  const input = tf.input({ shape: [SIZE, SIZE, 3] });
  const pooled = tf.layers.globalAveragePooling2d({}).apply(input) as tf.SymbolicTensor;
  const part = tf.layers.dense({ units: 4, name: 'part_logits', kernelInitializer: tf.initializers.randomNormal({ seed: 3 }) }).apply(pooled) as tf.SymbolicTensor;
  const colorDense = tf.layers.dense({ units: 3, name: 'color_logits', useBias: false });
  const color = colorDense.apply(pooled) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: [part, color] });
  colorDense.setWeights([tf.eye(3)]);
  return model;
}

let root = '';
let expectedPartTop1 = 0;

async function writeProject(dir: string, modelLabels = labels): Promise<number> {
  mkdirSync(join(dir, 'artifacts/augment-cache'), { recursive: true });
  mkdirSync(join(dir, 'artifacts/metrics'), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  // The project's own evaluate stage, reached through a link, under the plan's gates.
  symlinkSync(join(REPO, 'stages'), join(dir, 'stages'));
  symlinkSync(join(REPO, 'src'), join(dir, 'src'));
  writeFileSync(join(dir, 'pipeline.yaml'), readFileSync(join(REPO, 'test/evaluate/fixtures/pipeline.yaml')));
  const split = (name: string, list: Sample[]): SplitIndex => {
    writeFileSync(join(dir, 'artifacts/augment-cache', `${name}.u8`), Buffer.concat(list.map((s) => Buffer.from(imageOf(s)))));
    return {
      file: `${name}.u8`, n: list.length, height: SIZE, width: SIZE,
      part_index: list.map((s) => s.part), color_index: list.map((s) => s.color), source: list.map((s) => s.source),
      weight: list.map(() => 1), path: list.map((s, i) => `data/${s.source}/${labels.parts[s.part]}/img_${i}.png`),
    };
  };
  const index: CacheIndex = { format: CACHE_FORMAT, input_size: SIZE, variants: 1, augment_params: 'test', splits: { train: split('train', []), val: split('val', []), test: split('test', samples) } };
  writeFileSync(join(dir, 'artifacts/augment-cache/index.json'), JSON.stringify(index));
  writeFileSync(join(dir, 'artifacts/augment-cache/labels.json'), JSON.stringify(labels));
  writeFileSync(join(dir, 'artifacts/metrics/train.json'), JSON.stringify({ val_part_acc: 0.5, train_fit: { real: { part_top1: 0.9, color_acc: 1, n: 64 }, legacy: { part_top1: 0.1, color_acc: 0.4, n: 64 } }, detail: { epochs: [{ epoch: 1, loss: 1.5, val_part_acc: 0.3 }, { epoch: 2, loss: 1.1, val_part_acc: 0.5 }] } }));
  const model = buildModel();
  // saveModel replaces the folder, so labels.json goes in after it.
  const bytes = await saveModel(model, join(dir, 'artifacts/model'));
  writeFileSync(join(dir, 'artifacts/model/labels.json'), JSON.stringify(modelLabels));
  return bytes;
}

function runStage(dir: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'stages/evaluate.ts'], {
    cwd: dir,
    encoding: 'utf8',
    env: {
      ...process.env,
      PIPELINE_STAGE: 'evaluate', PIPELINE_ROOT: dir, PIPELINE_PARAMS: '{}',
      PIPELINE_DEPS: '["artifacts/model","artifacts/augment-cache","artifacts/metrics/train.json"]',
      PIPELINE_DEP_ROLES: '{"model":"artifacts/model","augment-cache":"artifacts/augment-cache","train-metrics":"artifacts/metrics/train.json"}',
      PIPELINE_OUTS: '["artifacts/reports/evaluate"]', PIPELINE_OUT_ROLES: '{"report":"artifacts/reports/evaluate"}',
      PIPELINE_GATES: JSON.stringify([{ metric: 'part_top1', op: '>=', target: 0.9, text: '>= 0.90' }]),
      PIPELINE_METRICS: 'artifacts/metrics/evaluate.json', BRICKFLOW_BACKEND: 'cpu',
    },
  });
}

const dirs: string[] = [];
beforeAll(async () => {
  await tf.setBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'brickflow-evaluate-'));
  dirs.push(root);
  await writeProject(root);
  // The expected part accuracy, computed here independently: the same model on the real images.
  const model = buildModel();
  const real = samples.filter((s) => s.source === 'real');
  const x = tf.tensor4d(Float32Array.from(real.flatMap((s) => Array.from(normalize(imageOf(s))))), [real.length, SIZE, SIZE, 3]);
  const pred = ((model.predict(x) as tf.Tensor[])[0]!.argMax(1).arraySync() as number[]);
  expectedPartTop1 = pred.filter((p, i) => p === real[i]!.part).length / real.length;
});
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('evaluate stage, end to end', () => {
  it('writes gate-readable metrics for the real test images only, and the report', () => {
    const run = runStage(root);
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    const m = JSON.parse(readFileSync(join(root, 'artifacts/metrics/evaluate.json'), 'utf8'));
    expect(m.n_test).toBe(14);
    expect(m.part_top1).toBeCloseTo(expectedPartTop1, 6);
    // 4 parts: top-5 is capped at 4, so every image is a hit.
    expect(m.part_top5).toBe(1);
    expect(m.detail.top_k).toBe(4);
    // The color head reads the mean colour, so every known color is right; 2 are unknown.
    expect(m.color_acc).toBe(1);
    expect(m.color_unknown_count).toBe(2);
    expect(m.color_known_count).toBe(12);
    for (const key of ['part_top1_ci_low', 'part_top1_ci_high', 'color_acc_ci_low', 'part_macro_acc']) expect(typeof m[key]).toBe('number');
    expect(m.part_top1_ci_low).toBeLessThanOrEqual(m.part_top1);
    expect(m.part_top1_ci_high).toBeGreaterThanOrEqual(m.part_top1);
    expect(m.detail.per_part.map((p: { name: string }) => p.name)).toEqual(labels.parts);
    expect(m.detail.part_confused_pairs.every((p: { images: string[] }) => p.images.every((i) => i.startsWith('data/real/')))).toBe(true);

    const html = readFileSync(join(root, 'artifacts/reports/evaluate/index.html'), 'utf8');
    expect(html).toContain('training-curves.svg');
    expect(html).toContain('&gt;= 0.90'); // the gate from pipeline.yaml, as a target
    expect(readdirSync(join(root, 'artifacts/reports/evaluate/thumbs')).length).toBeGreaterThan(0);
    expect(run.stdout).toMatch(/part_top1\s+\d\.\d{3}\s+95% CI/);
    expect(run.stdout).toContain('color_unknown_count 2');
    expect(run.stdout).toMatch(/part_top1 .*>= 0.90\s+(pass|MISS)/);

    // train.json's train_fit beside the test figures; worst_part_recall for a gate to read.
    expect(html).toContain('Learned or memorised?');
    expect(html).toMatch(/<td class="l">real<\/td><td>64<\/td><td>0\.900<\/td><td>\d\.\d{3}<\/td>/);
    expect(html).toMatch(/<td class="l">legacy<\/td>[\s\S]*?not learned<\/td>/);
    expect('worst_part_recall' in m && 'worst_part_recall_ci_low' in m).toBe(true);
    expect(m.worst_part_recall_parts_excluded + m.detail.worst_part_recall.parts_counted).toBe(4);
    expect(run.stdout).toMatch(/worst_part_recall counts \d part\(s\); \d with fewer than 5 test images left out/);
  });

  it('refuses a model whose labels do not match the cache, naming both files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'brickflow-evaluate-'));
    dirs.push(dir);
    await writeProject(dir, { ...labels, parts: ['3001', '3003', '3004', '3062b'] });
    const run = runStage(dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('artifacts/model/labels.json and artifacts/augment-cache/labels.json disagree: parts differ');
    expect(existsSync(join(dir, 'artifacts/metrics/evaluate.json'))).toBe(false);
  });
});

describe('evaluate under the engine', () => {
  it('fails the build with exit 3 and the gate table when the model misses its targets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'brickflow-evaluate-'));
    dirs.push(dir);
    await writeProject(dir);
    // The hand-weighted part head guesses: part_top1 is far below 0.90.
    expect(expectedPartTop1).toBeLessThan(0.9);
    const env: NodeJS.ProcessEnv = { ...process.env, BRICKFLOW_BACKEND: 'cpu' };
    for (const k of Object.keys(env)) if (k.startsWith('PIPELINE_')) delete env[k];
    const run = spawnSync(process.execPath, [join(REPO, 'bin/pipeline.js'), 'run', 'evaluate'], { cwd: dir, encoding: 'utf8', env });
    const out = run.stdout + run.stderr;
    expect(run.status, out).toBe(3);
    expect(out).toMatch(/part_top1\s*│?\s*[\d.]+\s*│?\s*>= 0\.90\s*│?\s*FAIL/);
    expect(out).toMatch(/color_acc\s*│?\s*1\s*│?\s*>= 0\.85\s*│?\s*PASS/);
  });
});
