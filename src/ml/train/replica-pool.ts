/**
 * Data-parallel training on every core: this thread is replica 0 and coordinates N-1 worker
 * threads (replica-worker.ts), one tfjs backend each (tfjs' own wasm threads do not start in
 * Node: see src/ml/backend/README.md). Each step every replica computes the gradients of
 * its share of the global batch; they are summed through shared memory and every replica
 * takes the same optimizer step, so the replicas stay identical and the model is the one a
 * single replica gives with the same global batch (BatchNorm aside: see below).
 *
 * BatchNorm: batch statistics are per replica (each normalises over its own share, as
 * PyTorch's DistributedDataParallel without SyncBatchNorm); the moving mean and variance
 * each replica updates are averaged over the replicas after every epoch, before validation
 * and the checkpoint. The moving update is linear, so the average equals moving averages of
 * the replicas' mean batch statistics.
 */
import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BackendPreference } from '../backend/select-backend.ts';
import type { AdamW } from './adamw.ts';
import type { TrainingSplit } from './batch.ts';
import { Command, GradientExchange, ReplicaFailedError } from './gradient-exchange.ts';
import { applyAveragedStatistics, applySummed, slotLength, writeShare, writeStatistics, type ReplicaContext, type StepFigures } from './replica-step.ts';
import type { ReplicaReply, ReplicaSetup } from './replica-worker.ts';

/** `training.workers`: a count, or 'auto' = one per core where the backend runs on one thread (wasm, cpu). */
export type WorkerCount = number | 'auto';

export function resolveReplicas(workers: WorkerCount, backend: string): number {
  if (workers !== 'auto') return Math.max(1, Math.floor(workers));
  return backend === 'wasm' || backend === 'cpu' ? availableParallelism() : 1; // libtensorflow threads itself
}

/** The split with its pixels in shared memory, so worker threads read them without a copy each. */
export function sharedSplit(split: TrainingSplit): TrainingSplit {
  if (split.images.buffer instanceof SharedArrayBuffer) return split;
  const images = new Uint8Array(new SharedArrayBuffer(split.images.byteLength));
  images.set(split.images);
  return { n: split.n, height: split.height, width: split.width, images, partIndex: split.partIndex, colorIndex: split.colorIndex, source: split.source, weight: split.weight };
}

function spawnReplicaWorker(): Worker {
  // A .ts file cannot be handed to Worker directly: register tsx in the thread first.
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');
  const entry = JSON.stringify(new URL('./replica-worker.ts', import.meta.url).href);
  return new Worker(`import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${entry}); }).then((m) => m.serveReplica())`, { eval: true });
}

function momentsOf(optimizer: AdamW, vars: tf.Variable[]): ReplicaSetup['moments'] {
  const state = optimizer.state();
  return vars.map((v) => ({
    m: state[`m/${v.name}`]?.dataSync() as Float32Array | undefined,
    v: state[`v/${v.name}`]?.dataSync() as Float32Array | undefined,
  }));
}

export class ReplicaPool {
  private failure: string | undefined;
  /** A command is under way: the workers may be waiting for this thread's share. */
  private busy = false;

  private constructor(private readonly main: ReplicaContext, private readonly exchange: GradientExchange, private readonly workers: Worker[]) {}

  /**
   * Starts `main.replicas - 1` workers holding copies of `main`'s model and optimizer state
   * (after any resume). `main.split` must be a sharedSplit.
   */
  static async start(main: ReplicaContext, o: { weightDecay: number; batchSize: number; backend: BackendPreference }): Promise<ReplicaPool> {
    const exchange = GradientExchange.create(main.replicas, slotLength(main.vars, main.statistics), o.batchSize);
    const base: Omit<ReplicaSetup, 'replica'> = {
      backend: o.backend,
      topology: main.model.toJSON(null, true) as string,
      weights: main.model.getWeights().map((w) => ({ values: w.dataSync() as Float32Array, shape: w.shape })),
      moments: momentsOf(main.optimizer, main.vars),
      optimizerStep: main.optimizer.step,
      weightDecay: o.weightDecay,
      split: main.split, loss: main.loss, weighting: main.weighting, seed: main.seed,
      buffers: exchange.buffers,
    };
    const workers: Worker[] = [];
    const pool = new ReplicaPool(main, exchange, workers);
    const ready: Promise<void>[] = [];
    for (let r = 1; r < main.replicas; r++) {
      const w = spawnReplicaWorker();
      workers.push(w);
      ready.push(new Promise((resolve, reject) => {
        w.on('message', (m: ReplicaReply) => {
          if (m.type === 'ready') resolve();
          else { pool.fail(`replica ${r}: ${m.message}`); reject(new ReplicaFailedError(pool.failure!)); }
        });
        w.on('error', (e) => { pool.fail(`replica ${r}: ${e.stack ?? e.message}`); reject(new ReplicaFailedError(pool.failure!)); });
        w.on('exit', (code) => { if (code !== 0) { pool.fail(`replica ${r} exited with code ${code}`); reject(new ReplicaFailedError(pool.failure!)); } });
      }));
      w.postMessage({ ...base, replica: r } satisfies ReplicaSetup);
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  private fail(message: string): void {
    this.failure ??= message;
    this.exchange.fail();
  }

  /** Rethrows a waiting error with the failed worker's own message. */
  private async guarded<T>(fn: () => Promise<T>): Promise<T> {
    this.busy = true;
    try {
      const out = await fn();
      this.busy = false;
      return out;
    } catch (e) {
      if (e instanceof ReplicaFailedError && this.failure) throw new ReplicaFailedError(this.failure);
      throw e;
    }
  }

  /** One step over the global `batch`: every replica's share, summed gradients, one optimizer step everywhere. */
  step(batch: Int32Array, step: number, lr: number): Promise<StepFigures> {
    return this.guarded(async () => {
      this.exchange.post(Command.Step, batch, lr, step);
      writeShare(this.main, this.exchange, batch, step);
      await this.exchange.allArrivedAsync();
      return applySummed(this.main, this.exchange, lr);
    });
  }

  /** The gradients the last step summed, flat in trainable-variable order (valid until the next command); for checks. */
  lastGradientSum(): Float32Array {
    return this.exchange.sumSlots(0, new Float32Array(this.main.vars.reduce((a, v) => a + v.size, 0)));
  }

  /** Every replica's BatchNorm moving statistics become their mean (before validation and checkpoints). */
  averageStatistics(): Promise<void> {
    return this.guarded(async () => {
      this.exchange.post(Command.AverageStatistics);
      writeStatistics(this.main, this.exchange);
      await this.exchange.allArrivedAsync();
      applyAveragedStatistics(this.main, this.exchange);
    });
  }

  /** Stops the workers (also in the middle of a step, after a failure). */
  async close(): Promise<void> {
    if (!this.failure && !this.busy) {
      try {
        this.exchange.post(Command.Stop);
      } catch {
        // a replica failed meanwhile: terminate below
      }
    }
    this.exchange.fail(); // anything still waiting gives up
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
