/**
 * What the training benchmarks time: one full training step (forward, backward, optimizer
 * update) of the classifier on a fixed synthetic batch, with the plan's multi-task loss
 * (CE with label smoothing 0.1 on both heads, weights 1.0 / 0.5), and the model to time:
 * the real one from src/ml/model/classifier.ts, or the B0 stand-in while that is missing.
 */
import * as tf from '@tensorflow/tfjs';
import { buildStandInClassifier } from './train-throughput-model.ts';
import { AdamW, decays } from '../src/ml/train/adamw.ts';
import { adamWStep } from '../src/ml/backend/fused-adamw.ts';

/**
 * adamw: the project's AdamW (src/ml/train/adamw.ts) as training runs it, the peer of torch_bench.py's
 * torch.optim.AdamW; adamw-fused: the same update through src/ml/backend/fused-adamw.ts (one op per
 * variable); adam: tfjs' own tf.train.adam.
 */
export type BenchOptimizer = 'adamw' | 'adamw-fused' | 'adam';
export const BENCH_OPTIMIZERS: readonly BenchOptimizer[] = ['adamw', 'adamw-fused', 'adam'];

const LR = 1e-4;
const ADAMW = { weightDecay: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };

/** AdamW's update applied through adamWStep, with AdamW's slots and bias correction. */
function fusedAdamW(): { apply: (vars: tf.Variable[], grads: tf.NamedTensorMap) => void; dispose: () => void } {
  const slots = new Map<string, [tf.Variable, tf.Variable]>();
  let t = 0;
  return {
    apply(vars, grads) {
      t++;
      for (const w of vars) {
        const g = grads[w.name];
        if (!g) continue;
        let s = slots.get(w.name);
        if (!s) slots.set(w.name, (s = [tf.variable(tf.zerosLike(w), false), tf.variable(tf.zerosLike(w), false)]));
        adamWStep(w, g, s[0], s[1], {
          lr: LR, beta1: ADAMW.beta1, beta2: ADAMW.beta2, epsilon: ADAMW.epsilon,
          c1: 1 - ADAMW.beta1 ** t, c2: 1 - ADAMW.beta2 ** t, decay: decays(w) ? 1 - LR * ADAMW.weightDecay : 1,
        });
      }
    },
    dispose: () => tf.dispose([...slots.values()].flat()),
  };
}

/** real: B0 (the plan's model); demo: config/training.yaml's cpu profile (width/depth 0.25, head 128); standin: bench/train-throughput-model.ts. */
export type ModelSource = 'real' | 'demo' | 'standin';

export interface BenchModel {
  model: tf.LayersModel;
  source: ModelSource;
  note: string;
}

const N_PARTS = 200;
const N_COLORS = 50;

/** Shape of the real model's builder, as far as the benchmark needs it (its module may not exist yet). */
interface ClassifierModule {
  buildClassifier: (cfg: Record<string, unknown>) => tf.LayersModel | { model: tf.LayersModel };
}

/** The real B0 classifier at this size when src/ml/model/classifier.ts loads, else the stand-in. */
export async function loadBenchModel(size: number, want: ModelSource | 'auto' = 'auto'): Promise<BenchModel> {
  if (want === 'demo') {
    const { buildClassifier } = await import('../src/ml/model/classifier.ts');
    const { model } = buildClassifier({
      inputSize: size, widthCoefficient: 0.25, depthCoefficient: 0.25, dropConnectRate: 0, bnMomentum: 0.9,
      headUnits: 128, headDropout: 0.3, nParts: N_PARTS, nColors: N_COLORS, architecture: 'multitask',
    });
    return { model, source: 'demo', note: 'src/ml/model/classifier.ts, the cpu profile (width/depth 0.25, head 128)' };
  }
  if (want !== 'standin') {
    try {
      const path = '../src/ml/model/classifier.ts';
      const mod = (await import(/* @vite-ignore */ path)) as ClassifierModule;
      const built = mod.buildClassifier({
        inputSize: size, widthCoefficient: 1, depthCoefficient: 1, dropConnectRate: 0.2,
        headUnits: 512, headDropout: 0.3, nParts: N_PARTS, nColors: N_COLORS, architecture: 'multitask',
      });
      const model = 'model' in built ? built.model : built;
      return { model, source: 'real', note: 'src/ml/model/classifier.ts, B0 multitask' };
    } catch (e) {
      if (want === 'real') throw e;
      const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
      return { model: buildStandInClassifier({ inputSize: size, nParts: N_PARTS, nColors: N_COLORS }), source: 'standin', note: `stand-in B0 (real model unavailable: ${why})` };
    }
  }
  return { model: buildStandInClassifier({ inputSize: size, nParts: N_PARTS, nColors: N_COLORS }), source: 'standin', note: 'stand-in B0 (bench/train-throughput-model.ts)' };
}

/** Returns a function that runs one training step and resolves when its numbers are computed. */
export function makeTrainStep(model: tf.LayersModel, batch: number, size: number, optimizer: BenchOptimizer = 'adamw'): { step: () => Promise<number>; dispose: () => void } {
  const x = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 7);
  const yp = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => (i * 37) % N_PARTS), 'int32'), N_PARTS);
  const yc = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => (i * 11) % N_COLORS), 'int32'), N_COLORS);
  const lossFn = (): tf.Scalar => {
    const [p, c] = model.apply(x, { training: true }) as tf.Tensor[];
    const lp = tf.losses.softmaxCrossEntropy(yp, p!, undefined, 0.1);
    const lc = tf.losses.softmaxCrossEntropy(yc, c!, undefined, 0.1);
    return tf.add(lp, tf.mul(0.5, lc)) as tf.Scalar;
  };
  if (optimizer === 'adam') {
    const opt = tf.train.adam(LR);
    const step = async (): Promise<number> => {
      const loss = opt.minimize(lossFn, true);
      const v = (await loss!.data())[0]!;
      loss!.dispose();
      return v;
    };
    return { step, dispose: () => { tf.dispose([x, yp, yc]); opt.dispose(); } };
  }
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const adamw = new AdamW(ADAMW);
  const fused = fusedAdamW();
  const step = async (): Promise<number> => {
    const { value, grads } = tf.variableGrads(lossFn, vars);
    if (optimizer === 'adamw') adamw.apply(vars, grads, LR);
    else fused.apply(vars, grads);
    tf.dispose(Object.values(grads));
    const v = (await value.data())[0]!;
    value.dispose();
    return v;
  };
  return { step, dispose: () => { tf.dispose([x, yp, yc]); adamw.dispose(); fused.dispose(); } };
}

/**
 * One step as training runs it (src/ml/train/replica-step.ts: the batch normalised from
 * uint8 pixels, the plan's loss, AdamW), on `workers` replicas: this thread alone, or with
 * worker threads through ReplicaPool, each on its share of the `batch` images.
 */
export async function makeReplicaStep(model: tf.LayersModel, batch: number, size: number, workers: number): Promise<{ step: () => Promise<number>; dispose: () => Promise<void> }> {
  const { createRng } = await import('../src/ml/random.ts');
  const { ReplicaPool, sharedSplit } = await import('../src/ml/train/replica-pool.ts');
  const { soloStep, statisticVariables, trainableVariables } = await import('../src/ml/train/replica-step.ts');
  const rng = createRng(7);
  const images = Uint8Array.from({ length: batch * size * size * 3 }, () => Math.floor(rng() * 256));
  const split = sharedSplit({
    n: batch, height: size, width: size, images,
    partIndex: Int32Array.from({ length: batch }, (_, i) => (i * 37) % N_PARTS),
    colorIndex: Int32Array.from({ length: batch }, (_, i) => (i * 11) % N_COLORS),
    source: Array.from({ length: batch }, () => 'real'), weight: new Float32Array(batch).fill(1),
  });
  const replica = {
    model, vars: trainableVariables(model), statistics: statisticVariables(model), optimizer: new AdamW(ADAMW), split,
    loss: { partWeight: 1, colorWeight: 0.5, labelSmoothing: 0.1 }, weighting: { sourceWeights: {} }, seed: 1, replica: 0, replicas: workers,
  };
  const backend = tf.getBackend() as 'wasm' | 'cpu' | 'tensorflow';
  const pool = workers > 1 ? await ReplicaPool.start(replica, { weightDecay: ADAMW.weightDecay, batchSize: batch, backend }) : undefined;
  const indices = Int32Array.from({ length: batch }, (_, i) => i);
  let n = 0;
  const step = async (): Promise<number> => (pool ? await pool.step(indices, n++, LR) : soloStep(replica, indices, n++, LR)).total;
  return { step, dispose: async () => { await pool?.close(); replica.optimizer.dispose(); } };
}
