import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/ml/model/model-io.ts';
import { moduleLog } from '../helpers/module-log.ts';
import { collect, type TestProject } from '../helpers/project-rig.ts';
import { params, REPO, SIZE, trainProject, writeCache, writeDataset } from './train-rig.ts';

let root: string;

interface Run { code: number | null; stdout: string; stderr: string }

function runStage(p: object, onStdout?: (text: string, kill: () => void) => void, env: Record<string, string> = {}, at = root): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href, join(REPO, 'stages/train.ts')], {
      cwd: at,
      env: { ...process.env, PIPELINE_STAGE: 'train', PIPELINE_ROOT: at, PIPELINE_PARAMS: JSON.stringify(p), PIPELINE_METRICS: 'artifacts/metrics/train.json', PIPELINE_DEPS: '["artifacts/augment-cache"]', PIPELINE_OUTS: '["artifacts/model","artifacts/train-state"]', PIPELINE_STAGE_FINGERPRINT: 'inputs-1', ...env },
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; onStdout?.(stdout, () => child.kill('SIGKILL')); });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bf-train-stage-'));
  await writeCache(join(root, 'artifacts/augment-cache'), SIZE);
  await tf.setBackend('cpu');
});
afterAll(async () => { await rm(root, { recursive: true, force: true }); });

describe('train stage (child process)', () => {
  it('a run killed after its first epoch resumes from it, then writes the model, its maps, the curves and per-epoch metrics', async () => {
    const killed = await runStage(params(), (out, kill) => { if (/epoch 1\/2: loss/.test(out)) kill(); });
    expect(killed.code).not.toBe(0);
    expect(await readdir(join(root, 'artifacts/train-state'))).toContain('epoch-0001');

    const run = await runStage(params());
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/resuming from .*epoch-0001: 1 of 2 epochs done/);
    expect(run.stdout).toMatch(/no pretrained weights: training from scratch/);
    expect(run.stdout).toMatch(/frozen \(\d+ layers\)/);

    const modelDir = join(root, 'artifacts/model');
    expect((await readdir(modelDir)).sort()).toEqual(['labels.json', 'model.json', 'preprocess.json', 'training_curves.png', 'weights.bin']);
    const model = await loadModel(modelDir);
    const [part, color] = model.predict(tf.zeros([2, SIZE, SIZE, 3])) as tf.Tensor[];
    expect([part!.shape, color!.shape]).toEqual([[2, 4], [2, 3]]);
    expect(JSON.parse(await readFile(join(modelDir, 'preprocess.json'), 'utf8'))).toEqual({ input_size: SIZE, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    const png = await sharp(join(modelDir, 'training_curves.png')).metadata();
    expect(png.format).toBe('png');
    expect(png.width).toBeGreaterThan(500);

    const metrics = JSON.parse(await readFile(join(root, 'artifacts/metrics/train.json'), 'utf8')) as Record<string, unknown> & { history: { epoch: number; val_part_top1: number }[] };
    expect(metrics.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(metrics['resumed_from_epoch']).toBe(1);
    expect(metrics['val_part_top1']).toBe(Math.max(...metrics.history.map((h) => h.val_part_top1)));
    for (const key of ['val_part_top5', 'val_color_acc', 'best_epoch', 'params']) expect(typeof metrics[key]).toBe('number');
  });

});

describe('train fit: accuracy on un-augmented training images (child process)', () => {
  let fitRoot: string;
  beforeAll(async () => {
    fitRoot = await mkdtemp(join(tmpdir(), 'bf-train-fit-'));
    await writeCache(join(fitRoot, 'artifacts/augment-cache'), SIZE);
    await writeDataset(fitRoot, SIZE);
  });
  afterAll(async () => { await rm(fitRoot, { recursive: true, force: true }); });
  const modelHash = (): string => (JSON.parse(readFileSync(join(fitRoot, 'artifacts/train-state/previous/provenance.json'), 'utf8')) as { model: string }).model;

  it('train.json records part top-1, color accuracy and n per source, and measuring it leaves the trained model bit for bit the same', async () => {
    const without = await runStage(params(), undefined, { PIPELINE_STAGE_FINGERPRINT: 'fit-a' }, fitRoot);
    expect(without.code, without.stderr).toBe(0);
    expect(without.stdout).toContain('train_fit (accuracy on un-augmented training images) is not measured');
    const hashWithout = modelHash();

    const run = await runStage(params(), undefined, { PIPELINE_STAGE_FINGERPRINT: 'fit-b', PIPELINE_DEPS: '["artifacts/augment-cache","artifacts/dataset"]' }, fitRoot);
    expect(run.code, run.stderr).toBe(0);
    expect(modelHash()).toBe(hashWithout);
    const metrics = JSON.parse(await readFile(join(fitRoot, 'artifacts/metrics/train.json'), 'utf8')) as { train_fit: Record<string, { part_top1: number; color_acc: number | null; n: number }> };
    // writeDataset: 64 train images, half legacy, half real; all fit the 64-per-source sample.
    expect(Object.keys(metrics.train_fit).sort()).toEqual(['legacy', 'real']);
    for (const f of Object.values(metrics.train_fit)) {
      expect(f.n).toBe(32);
      for (const x of [f.part_top1, f.color_acc!]) {
        expect(x).toBeGreaterThanOrEqual(0);
        expect(x).toBeLessThanOrEqual(1);
        expect(Number.isInteger(x * 32)).toBe(true);
      }
    }
    expect(run.stdout).toMatch(/fit on 32 un-augmented legacy training images: part top-1 \d+\.\d%/);
  });

  it('a broken dataset manifest fails naming its file and line, before any training', async () => {
    const manifest = join(fitRoot, 'artifacts/dataset/manifest.jsonl');
    appendFileSync(manifest, '{not json\n');
    const lines = readFileSync(manifest, 'utf8').trim().split('\n').length;
    const run = await runStage(params(), undefined, { PIPELINE_STAGE_FINGERPRINT: 'fit-c', PIPELINE_DEPS: '["artifacts/augment-cache","artifacts/dataset"]' }, fitRoot);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`artifacts/dataset/manifest.jsonl:${lines}: not JSON`);
    expect(run.stdout).not.toMatch(/epoch 1\/2/);
  });
});

describe.concurrent('train stage config and input errors (child process)', () => {
  it('a bad value in config/training.yaml fails naming the file and key, before the training code (tfjs) is loaded', async () => {
    const modules = moduleLog();
    const run = await runStage(params({ training: { lr: -1 } }), undefined, modules.env);
    const resolved = modules.read();
    modules.cleanup();
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('config/training.yaml: training.profiles.test.lr: must be > 0');
    expect(resolved).toContain('training-config.ts'); // the hook saw the stage's imports
    expect(resolved).not.toContain('@tensorflow/tfjs');
  });

  it('a cache at another size than model.input_size fails saying to rerun augment-cache', async () => {
    const p = params();
    (p['config/training.yaml'].model as { input_size: number }).input_size = 32;
    const run = await runStage(p);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/holds 16x16 images but model.input_size is 32 .*rerun augment-cache/);
  });
});

/**
 * The real train stage under the real engine, in a project holding a copy of stages/train.ts,
 * src/ and schemas/ (so a test can edit a module the stage imports). 4 epochs, so a run interrupted
 * after its first epoch has surely not finished.
 */
// Each test starts the CLI and trains: on 2 busy cores that can take minutes (a hang guard, not a timing).
describe('train under the engine: resume only state made for the same inputs', { timeout: 600_000 }, () => {
  const TRAIN_YAML = JSON.stringify(params({ training: { epochs: 4 } })['config/training.yaml']);
  let base: TestProject;
  let interrupted: TestProject;
  const projects: TestProject[] = [];

  function trainMetrics(p: TestProject): { resumed_from_epoch: number; epochs_run: number; history: { epoch: number }[] } {
    return JSON.parse(p.read('artifacts/metrics/train.json')) as ReturnType<typeof trainMetrics>;
  }
  const checkpoints = (p: TestProject): string[] => (existsSync(p.path('artifacts/train-state')) ? readdirSync(p.path('artifacts/train-state')).filter((e) => e !== 'previous') : []); // previous/: the model kept for a warm start

  beforeAll(async () => {
    base = await trainProject(TRAIN_YAML);
    projects.push(base);
  });
  afterAll(() => { for (const p of projects) p.cleanup(); });

  it('a completed train drops its checkpoints, and run --force train then trains from epoch 1 (interrupted here after it)', async () => {
    const first = await base.cli('run');
    expect(first.code, first.stderr).toBe(0);
    expect(trainMetrics(base).epochs_run).toBe(4);
    expect(checkpoints(base)).toEqual([]);

    // --force: from scratch. Stopped (as Ctrl-C does) once its first epoch is checkpointed.
    interrupted = base.clone();
    projects.push(interrupted);
    const child = interrupted.spawn(['run', '--force', 'train']);
    let seen = '';
    const stopOnce = (c: Buffer): void => {
      seen += c.toString();
      if (!/epoch 1\/4: loss/.test(seen)) return;
      child.stdout!.off('data', stopOnce);
      child.kill('SIGTERM');
    };
    child.stdout!.on('data', stopOnce);
    const forced = await collect(child);
    expect(forced.stdout).toContain('--force: training from scratch');
    expect(forced.stdout).not.toContain('resuming');
    expect(forced.stdout).toMatch(/epoch 1\/4: loss/);
    expect(forced.code).toBe(130);
    expect(checkpoints(interrupted).filter((e) => e.startsWith('epoch-')).length).toBe(1);
  });

  /** A copy of the interrupted project; the epoch its checkpoint holds. */
  function fromInterrupted(): { p: TestProject; epochsDone: number } {
    const p = interrupted.clone();
    projects.push(p);
    // Without the run cache's entry of the first run, a same-inputs run must train (resume), not restore.
    p.remove('.pipeline/cache');
    const epoch = checkpoints(p).find((e) => e.startsWith('epoch-'))!;
    return { p, epochsDone: Number(epoch.slice('epoch-'.length)) };
  }

  it('an interrupted train resumes when its inputs are the same', async () => {
    const { p, epochsDone } = fromInterrupted();
    expect(epochsDone).toBeGreaterThanOrEqual(1);
    const r = await p.cli('run');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${epochsDone} of 4 epochs done`);
    expect(trainMetrics(p).resumed_from_epoch).toBe(epochsDone);
    expect(checkpoints(p)).toEqual([]);
  });

  it('an interrupted train whose cached pixels changed starts from scratch', async () => {
    const { p } = fromInterrupted();
    const pixels = readFileSync(p.path('artifacts/augment-cache/train.u8'));
    writeFileSync(p.path('artifacts/augment-cache/train.u8'), pixels.map((v) => 255 - v));
    const r = await p.cli('run');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('dep artifacts/augment-cache changed');
    expect(r.stdout).not.toContain('resuming');
    expect(trainMetrics(p).resumed_from_epoch).toBe(0);
    expect(trainMetrics(p).history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
  });

  it('an interrupted train whose loss code changed starts from scratch', async () => {
    const { p } = fromInterrupted();
    appendFileSync(p.path('src/ml/train/loss.ts'), '\n// edited\n');
    const r = await p.cli('run');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('code src/ml/train/loss.ts changed');
    expect(r.stdout).not.toContain('resuming');
    expect(trainMetrics(p).resumed_from_epoch).toBe(0);
  });
});
