/**
 * A training replica in a worker thread: its own tfjs backend (wasm with the project's
 * kernels, registered by selectBackend), a copy of the model rebuilt from the coordinator's
 * topology and weights, and the same optimizer state; then it serves the commands the
 * coordinator posts in the GradientExchange until told to stop.
 */
import * as tf from '@tensorflow/tfjs';
import { parentPort } from 'node:worker_threads';
import type { BackendPreference } from '../backend/select-backend.ts';
import { selectBackend } from '../backend/select-backend.ts';
import { AdamW } from './adamw.ts';
import type { SampleWeighting, TrainingSplit } from './batch.ts';
import { Command, GradientExchange, type ExchangeBuffers } from './gradient-exchange.ts';
import type { LossWeights } from './loss.ts';
import { applyAveragedStatistics, applySummed, statisticVariables, trainableVariables, writeShare, writeStatistics, type ReplicaContext } from './replica-step.ts';

export interface ReplicaSetup {
  replica: number;
  backend: BackendPreference;
  /** model.toJSON(): the topology, with each layer's `trainable` flag. */
  topology: string;
  /** model.getWeights(), in model.weights order. */
  weights: { values: Float32Array; shape: number[] }[];
  /** The optimizer's moments per trainable variable (in trainableWeights order), and its step. */
  moments: { m?: Float32Array; v?: Float32Array }[];
  optimizerStep: number;
  weightDecay: number;
  split: TrainingSplit;
  loss: LossWeights;
  weighting: SampleWeighting;
  seed: number;
  buffers: ExchangeBuffers;
}

export type ReplicaReply = { type: 'ready' } | { type: 'error'; message: string };

async function buildReplica(s: ReplicaSetup): Promise<ReplicaContext> {
  await selectBackend(s.backend, { log: null });
  const model = await tf.models.modelFromJSON({ modelTopology: JSON.parse(s.topology) as tf.io.ModelJSON['modelTopology'] });
  if (model.weights.length !== s.weights.length) throw new Error(`the rebuilt model has ${model.weights.length} weights, the coordinator's ${s.weights.length}`);
  model.setWeights(s.weights.map((w) => tf.tensor(w.values, w.shape, 'float32')));
  const vars = trainableVariables(model);
  if (vars.length !== s.moments.length) throw new Error(`the rebuilt model has ${vars.length} trainable variables, the coordinator's ${s.moments.length}`);
  const optimizer = new AdamW({ weightDecay: s.weightDecay });
  const state: tf.NamedTensorMap = {};
  vars.forEach((v, i) => {
    const { m, v: second } = s.moments[i]!;
    if (m) state[`m/${v.name}`] = tf.tensor(m, v.shape, 'float32');
    if (second) state[`v/${v.name}`] = tf.tensor(second, v.shape, 'float32');
  });
  optimizer.restore(state, s.optimizerStep);
  Object.values(state).forEach((t) => t.dispose());
  return {
    model, vars, statistics: statisticVariables(model), optimizer, split: s.split, loss: s.loss, weighting: s.weighting,
    seed: s.seed, replica: s.replica, replicas: s.buffers.replicas,
  };
}

/** The worker's entry point: set up from the first message, then serve commands. */
export function serveReplica(): void {
  const port = parentPort;
  if (!port) throw new Error('serveReplica() must run in a worker thread');
  port.once('message', async (setup: ReplicaSetup) => {
    const x = GradientExchange.attach(setup.buffers);
    try {
      const c = await buildReplica(setup);
      port.postMessage({ type: 'ready' } satisfies ReplicaReply);
      for (;;) {
        const command = x.nextCommand();
        if (command === Command.Stop) break;
        if (command === Command.Step) {
          writeShare(c, x, x.batch(), x.step);
          x.allArrived();
          applySummed(c, x, x.lr);
        } else {
          writeStatistics(c, x);
          x.allArrived();
          applyAveragedStatistics(c, x);
        }
      }
      port.close();
    } catch (e) {
      x.fail();
      port.postMessage({ type: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) } satisfies ReplicaReply);
    }
  });
}
