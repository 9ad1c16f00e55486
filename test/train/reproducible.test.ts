import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/ml/backend/select-backend.ts';
import { buildClassifier } from '../../src/ml/model/classifier.ts';
import { withSeededMathRandom } from '../../src/ml/random.ts';
import { trainLoop, type TrainLoopConfig } from '../../src/ml/train/train-loop.ts';
import { syntheticSplit } from './synthetic-split.ts';

beforeAll(async () => { await selectBackend('auto', { log: null }); });

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'bf-repro-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

const SIZE = 16;
// Dropout on, so every step draws random masks.
const tiny = () => buildClassifier({ inputSize: SIZE, widthCoefficient: 0.25, depthCoefficient: 0.2, dropConnectRate: 0.2, bnMomentum: 0.5, headUnits: 32, headDropout: 0.3, nParts: 4, nColors: 3, architecture: 'multitask' }).model;
const config = (seed: number, workers: number): TrainLoopConfig => ({
  epochs: 2, batchSize: 16, epochSize: 32, lr: 1e-2, minLr: 1e-4, warmupEpochs: 0, weightDecay: 0.01, patience: 100, seed, workers,
  loss: { partWeight: 1, colorWeight: 0.5, labelSmoothing: 0.1 }, weighting: { sourceWeights: {} },
  curriculum: { enabled: false, planEpochs: 30, phases: [] },
});
const quiet = { log: () => {}, progress: { isTTY: false, write: () => {} } };
const train = syntheticSplit(64, SIZE, 1, { unknownColorEvery: 5 });
const val = syntheticSplit(16, SIZE, 2);

let runs = 0;
async function trainOnce(seed: number, workers = 1): Promise<{ losses: number[]; weights: Float32Array[] }> {
  const model = withSeededMathRandom(seed, tiny);
  const out = await trainLoop({ model, train, val, config: config(seed, workers), stateDir: join(dir, `run-${runs++}`), fingerprint: 'f', ...quiet });
  const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
  model.dispose();
  return { losses: out.history.map((h) => h.train_loss), weights };
}

describe('reproducible training', () => {
  it('the same data, config and seed give the same loss curve and the same weights, bit for bit', async () => {
    const a = await trainOnce(7);
    const b = await trainOnce(7);
    expect(b.losses).toEqual(a.losses);
    expect(b.weights).toEqual(a.weights);
  });

  it('with two worker threads too: each replica draws its dropout from its own seeded stream', async () => {
    const a = await trainOnce(7, 2);
    const b = await trainOnce(7, 2);
    expect(b.losses).toEqual(a.losses);
    expect(b.weights).toEqual(a.weights);
  });

  it('another seed gives another model', async () => {
    const a = await trainOnce(7);
    const c = await trainOnce(8);
    expect(c.losses[0]).not.toEqual(a.losses[0]);
    expect(c.weights).not.toEqual(a.weights);
  });
});

afterAll(() => { tf.disposeVariables(); });
