import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/ml/backend/select-backend.ts';
import { buildClassifier } from '../../src/ml/model/classifier.ts';
import { withSeededMathRandom } from '../../src/ml/random.ts';
import { trainLoop, type TrainLoopConfig } from '../../src/ml/train/train-loop.ts';
import { syntheticSplit } from './synthetic-split.ts';

// The fastest backend here (wasm with the project's training kernels; cpu where wasm cannot
// run): the cpu backend trains these convolutions ~10x slower.
beforeAll(async () => { await selectBackend('auto', { log: null }); });

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'bf-train-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

const SIZE = 16;
// Seeded initialisation, as the train stage does: an unseeded one made the learning test flaky.
const tiny = () => withSeededMathRandom(1, () => buildClassifier({ inputSize: SIZE, widthCoefficient: 0.25, depthCoefficient: 0.2, dropConnectRate: 0, bnMomentum: 0.5, headUnits: 32, headDropout: 0.1, nParts: 4, nColors: 3, architecture: 'multitask' })).model;
const config = (epochs: number): TrainLoopConfig => ({
  epochs, batchSize: 16, lr: 1e-2, minLr: 1e-4, warmupEpochs: 1, weightDecay: 0.01, patience: 100, seed: 1, workers: 1,
  loss: { partWeight: 1, colorWeight: 0.5, labelSmoothing: 0.1 }, weighting: { sourceWeights: {} },
  curriculum: { enabled: true, planEpochs: 30, phases: [{ fromEpoch: 0, toEpoch: 30, mix: { legacy: 0.5, real: 0.5 } }] },
});
const quiet = { log: () => {}, progress: { isTTY: false, write: () => {} } };
const train = syntheticSplit(192, SIZE, 1, { sources: ['legacy', 'real'], unknownColorEvery: 5 });
const val = syntheticSplit(64, SIZE, 2);

describe('train loop', () => {
  it('learns coloured shapes: val part and color accuracy end well above chance (25% / 33%)', async () => {
    const model = tiny();
    const out = await trainLoop({ model, train, val, config: config(10), stateDir: join(dir, 'learn'), fingerprint: 'a', ...quiet });
    expect(out.history).toHaveLength(10);
    expect(out.history[9]!.train_loss).toBeLessThan(out.history[0]!.train_loss);
    const best = out.history.find((h) => h.epoch === out.bestEpoch)!;
    expect(best.val_part_top1).toBeGreaterThanOrEqual(0.5);
    expect(Math.max(...out.history.map((h) => h.val_color_acc ?? 0))).toBeGreaterThanOrEqual(0.6);
    expect(out.bestValPartTop1).toBe(Math.max(...out.history.map((h) => h.val_part_top1)));
  });

  it('an interrupted run resumes from its last finished epoch with its history and stops at the configured count', async () => {
    const stateDir = join(dir, 'resume');
    const first = trainLoop({
      model: tiny(), train, val, config: { ...config(3), epochSize: 32 }, stateDir, fingerprint: 'r', ...quiet,
      onEpoch: (r) => { if (r.epoch === 2) throw new Error('simulated kill after epoch 2'); },
    });
    await expect(first).rejects.toThrow('simulated kill');
    expect((await readdir(stateDir)).filter((e) => e.startsWith('epoch-'))).toEqual(['epoch-0002']);
    const lines: string[] = [];
    const again = await trainLoop({ model: tiny(), train, val, config: { ...config(3), epochSize: 32 }, stateDir, fingerprint: 'r', progress: quiet.progress, log: (l) => lines.push(l) });
    expect(again.resumedFromEpoch).toBe(2);
    expect(again.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    expect(lines[0]).toMatch(/resuming from .*epoch-0002: 2 of 3 epochs done/);
    expect(lines.filter((l) => l.startsWith('epoch '))).toHaveLength(1);
  });

  it('a checkpoint from other config or data is not resumed', async () => {
    const stateDir = join(dir, 'other');
    await trainLoop({ model: tiny(), train, val, config: { ...config(1), epochSize: 16 }, stateDir, fingerprint: 'one', ...quiet });
    const lines: string[] = [];
    const out = await trainLoop({ model: tiny(), train, val, config: { ...config(1), epochSize: 16 }, stateDir, fingerprint: 'two', progress: quiet.progress, log: (l) => lines.push(l) });
    expect(out.resumedFromEpoch).toBe(0);
    expect(lines[0]).toMatch(/ignoring .*epoch-0001: it belongs to other config or data/);
  });

  it('stops early when val part top-1 does not improve for `patience` epochs and keeps the best weights', async () => {
    const model = tiny();
    // lr 0: nothing changes, so epoch 1 stays the best and epochs 2-3 bring no improvement.
    const out = await trainLoop({ model, train, val, config: { ...config(10), epochSize: 16, lr: 0, minLr: 0, patience: 2 }, stateDir: join(dir, 'early'), fingerprint: 'e', ...quiet });
    expect(out.stoppedEarly).toBe(true);
    expect(out.history).toHaveLength(3);
    expect(out.bestEpoch).toBe(1);
  });
});

afterAll(() => { tf.disposeVariables(); });
