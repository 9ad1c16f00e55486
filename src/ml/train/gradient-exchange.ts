/**
 * The shared memory through which data-parallel training replicas (this thread and its
 * worker threads) meet once per step: the coordinator (replica 0) posts a command (a step's
 * global batch and learning rate, or "average the BatchNorm statistics"); every replica
 * writes its share's result into its own slot and arrives at a barrier; then each one reads
 * all slots and sums them in replica order, so every replica computes bit-identical sums.
 *
 * Counters (Int32, Atomics): GENERATION is bumped by the coordinator for each command;
 * ARRIVED counts replicas whose slot is written; DONE counts workers that finished reading
 * the slots, and the coordinator waits for it before the next command overwrites them.
 */

export enum Command { Step = 1, AverageStatistics = 2, Stop = 3 }

const GENERATION = 0, ARRIVED = 1, DONE = 2, FAILED = 3, COMMAND = 4, BATCH_LENGTH = 5, CONTROL_LENGTH = 8;
const LR = 0, STEP = 1, SCALARS_LENGTH = 2;
/** Per replica: total, part and color loss of its share. */
export const FIGURES_PER_REPLICA = 3;
const WAIT_SLICE_MS = 500;

export interface ExchangeBuffers {
  replicas: number;
  slotLength: number;
  batchCapacity: number;
  control: SharedArrayBuffer;
  scalars: SharedArrayBuffer;
  indices: SharedArrayBuffer;
  slots: SharedArrayBuffer;
  figures: SharedArrayBuffer;
}

/** A replica failed: the others stop waiting for it. */
export class ReplicaFailedError extends Error {
  constructor(detail: string) {
    super(`a training replica failed: ${detail}`);
    this.name = 'ReplicaFailedError';
  }
}

// Atomics.waitAsync is in Node ≥ 16 but not in TypeScript's ES2023 lib.
type WaitAsync = (a: Int32Array, index: number, value: number, timeout: number) => { async: boolean; value: Promise<string> | string };

export class GradientExchange {
  readonly control: Int32Array;
  readonly scalars: Float64Array;
  readonly indices: Int32Array;
  readonly slots: Float32Array;
  readonly figures: Float64Array;

  private constructor(readonly buffers: ExchangeBuffers) {
    this.control = new Int32Array(buffers.control);
    this.scalars = new Float64Array(buffers.scalars);
    this.indices = new Int32Array(buffers.indices);
    this.slots = new Float32Array(buffers.slots);
    this.figures = new Float64Array(buffers.figures);
  }

  /** `slotLength` floats per replica: the larger of the gradient and the BatchNorm statistics sizes. */
  static create(replicas: number, slotLength: number, batchCapacity: number): GradientExchange {
    return new GradientExchange({
      replicas, slotLength, batchCapacity,
      control: new SharedArrayBuffer(CONTROL_LENGTH * 4),
      scalars: new SharedArrayBuffer(SCALARS_LENGTH * 8),
      indices: new SharedArrayBuffer(batchCapacity * 4),
      slots: new SharedArrayBuffer(replicas * slotLength * 4),
      figures: new SharedArrayBuffer(replicas * FIGURES_PER_REPLICA * 8),
    });
  }

  static attach(buffers: ExchangeBuffers): GradientExchange {
    return new GradientExchange(buffers);
  }

  get replicas(): number { return this.buffers.replicas; }
  get generation(): number { return Atomics.load(this.control, GENERATION); }
  get command(): Command { return Atomics.load(this.control, COMMAND) as Command; }
  get lr(): number { return this.scalars[LR]!; }
  get step(): number { return this.scalars[STEP]!; }
  batch(): Int32Array { return this.indices.subarray(0, Atomics.load(this.control, BATCH_LENGTH)); }

  /** Replica `r`'s slot (the first `length` floats). */
  slot(r: number, length: number): Float32Array {
    return this.slots.subarray(r * this.buffers.slotLength, r * this.buffers.slotLength + length);
  }

  /** Σ over replicas of slot[offset, offset+out.length), in replica order, into `out`. */
  sumSlots(offset: number, out: Float32Array): Float32Array {
    const n = out.length;
    out.set(this.slots.subarray(offset, offset + n));
    for (let r = 1; r < this.replicas; r++) {
      const base = r * this.buffers.slotLength + offset;
      for (let k = 0; k < n; k++) out[k] = out[k]! + this.slots[base + k]!;
    }
    return out;
  }

  /** Coordinator: post a command once every worker has finished the previous one. */
  async post(command: Command, batch?: ArrayLike<number>, lr = 0, step = 0): Promise<void> {
    await this.untilAsync(DONE, this.replicas - 1);
    Atomics.store(this.control, ARRIVED, 0);
    Atomics.store(this.control, DONE, 0);
    if (batch) {
      if (batch.length > this.buffers.batchCapacity) throw new Error(`batch of ${batch.length} exceeds the exchange's ${this.buffers.batchCapacity}`);
      this.indices.set(batch);
      Atomics.store(this.control, BATCH_LENGTH, batch.length);
    }
    this.scalars[LR] = lr;
    this.scalars[STEP] = step;
    Atomics.store(this.control, COMMAND, command);
    Atomics.add(this.control, GENERATION, 1);
    Atomics.notify(this.control, GENERATION);
  }

  /** The coordinator's state before any command: every worker counts as done. */
  primeDone(): void {
    Atomics.store(this.control, DONE, this.replicas - 1);
  }

  /** Worker: block until the coordinator posts a command after generation `seen`. */
  nextCommand(seen: number): number {
    for (;;) {
      this.throwIfFailed();
      const g = Atomics.load(this.control, GENERATION);
      if (g !== seen) return g;
      Atomics.wait(this.control, GENERATION, seen, WAIT_SLICE_MS);
    }
  }

  /** Mark this replica's slot written. */
  arrive(): void {
    Atomics.add(this.control, ARRIVED, 1);
    Atomics.notify(this.control, ARRIVED);
  }

  /** Worker: block until every replica has arrived. */
  allArrived(): void {
    this.until(ARRIVED, this.replicas);
  }

  /** Coordinator: wait (without blocking the event loop, so worker errors are heard) until every replica has arrived. */
  async allArrivedAsync(): Promise<void> {
    await this.untilAsync(ARRIVED, this.replicas);
  }

  /** Worker: done reading the slots of this command. */
  done(): void {
    Atomics.add(this.control, DONE, 1);
    Atomics.notify(this.control, DONE);
  }

  /** Any replica: give up; every wait then throws instead of hanging. */
  fail(): void {
    Atomics.store(this.control, FAILED, 1);
    for (const i of [GENERATION, ARRIVED, DONE]) Atomics.notify(this.control, i);
  }

  private throwIfFailed(): void {
    if (Atomics.load(this.control, FAILED) !== 0) throw new ReplicaFailedError('another replica stopped');
  }

  private until(index: number, target: number): void {
    for (;;) {
      this.throwIfFailed();
      const v = Atomics.load(this.control, index);
      if (v >= target) return;
      Atomics.wait(this.control, index, v, WAIT_SLICE_MS);
    }
  }

  private async untilAsync(index: number, target: number): Promise<void> {
    const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
    for (;;) {
      this.throwIfFailed();
      const v = Atomics.load(this.control, index);
      if (v >= target) return;
      const w = waitAsync(this.control, index, v, WAIT_SLICE_MS);
      if (w.async) await w.value;
    }
  }
}
