/**
 * What the training benchmarks time: one full training step (forward, backward, optimizer
 * update) of the classifier on a fixed synthetic batch, with the plan's multi-task loss
 * (CE with label smoothing 0.1 on both heads, weights 1.0 / 0.5), and the model to time:
 * the real one from src/ml/model/classifier.ts, or the B0 stand-in while that is missing.
 */
import * as tf from '@tensorflow/tfjs';
import { buildStandInClassifier } from './train-throughput-model.ts';

export type ModelSource = 'real' | 'standin';

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
export function makeTrainStep(model: tf.LayersModel, batch: number, size: number): { step: () => Promise<number>; dispose: () => void } {
  const x = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 7);
  const yp = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => (i * 37) % N_PARTS), 'int32'), N_PARTS);
  const yc = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => (i * 11) % N_COLORS), 'int32'), N_COLORS);
  const opt = tf.train.adam(1e-4);
  const step = async (): Promise<number> => {
    const loss = opt.minimize(() => {
      const [p, c] = model.apply(x, { training: true }) as tf.Tensor[];
      const lp = tf.losses.softmaxCrossEntropy(yp, p!, undefined, 0.1);
      const lc = tf.losses.softmaxCrossEntropy(yc, c!, undefined, 0.1);
      return tf.add(lp, tf.mul(0.5, lc)) as tf.Scalar;
    }, true);
    const v = (await loss!.data())[0]!;
    loss!.dispose();
    return v;
  };
  return { step, dispose: () => { tf.dispose([x, yp, yc]); opt.dispose(); } };
}
