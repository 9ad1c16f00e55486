/**
 * The shared memory through which data-parallel training replicas (this thread and its
 * worker threads) meet once per step: the coordinator (replica 0) posts a command (a step's
 * global batch and learning rate, or "average the BatchNorm statistics"); every replica
 * writes its share's result into its own slot and arrives at a barrier; then each one reads
 * all slots and sums them in replica order, so every replica computes bit-identical sums.
 *
 * One barrier per command. Commands alternate between two sets of buffers (by the parity of
 * their generation), so the coordinator posts command k+1 and writes its share while workers
 * still read command k's slots: nothing writes command k's set again before command k+2,
 * which cannot be posted before every worker has arrived at k+1 and so finished reading k.
 *
 * Counters (Int32, Atomics): GENERATION is bumped by the coordinator for each command (k);
 * ARRIVED counts every arrival ever, so command k's barrier is passed at replicas × k.
 */

export enum Command { Step = 1, AverageStatistics = 2, Stop = 3 }

const GENERATION = 0, ARRIVED = 1, FAILED = 2, CONTROL_LENGTH = 4;
/** Per buffer set: the command and its batch length (Int32), its learning rate and step (Float64). */
const COMMAND = 0, BATCH_LENGTH = 1, PARAMS_LENGTH = 2;
const LR = 0, STEP = 1, SCALARS_LENGTH = 2;
const SETS = 2;
/** Per replica: total, part and color loss of its share. */
export const FIGURES_PER_REPLICA = 3;
const WAIT_SLICE_MS = 500;

export interface ExchangeBuffers {
  replicas: number;
  slotLength: number;
  batchCapacity: number;
  control: SharedArrayBuffer;
  params: SharedArrayBuffer;
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
  private readonly control: Int32Array;
  private readonly params: Int32Array;
  private readonly scalars: Float64Array;
  private readonly indices: Int32Array;
  private readonly slots: Float32Array;
  private readonly figureSets: Float64Array;
  /** The generation of the command this replica is working on (0 before any). */
  private current = 0;
  /** This replica's own (unshared) sums, reused every step. */
  private sums: Float32Array | undefined;

  private constructor(readonly buffers: ExchangeBuffers) {
    this.control = new Int32Array(buffers.control);
    this.params = new Int32Array(buffers.params);
    this.scalars = new Float64Array(buffers.scalars);
    this.indices = new Int32Array(buffers.indices);
    this.slots = new Float32Array(buffers.slots);
    this.figureSets = new Float64Array(buffers.figures);
  }

  /** `slotLength` floats per replica: the larger of the gradient and the BatchNorm statistics sizes. */
  static create(replicas: number, slotLength: number, batchCapacity: number): GradientExchange {
    return new GradientExchange({
      replicas, slotLength, batchCapacity,
      control: new SharedArrayBuffer(CONTROL_LENGTH * 4),
      params: new SharedArrayBuffer(SETS * PARAMS_LENGTH * 4),
      scalars: new SharedArrayBuffer(SETS * SCALARS_LENGTH * 8),
      indices: new SharedArrayBuffer(SETS * batchCapacity * 4),
      slots: new SharedArrayBuffer(SETS * replicas * slotLength * 4),
      figures: new SharedArrayBuffer(SETS * replicas * FIGURES_PER_REPLICA * 8),
    });
  }

  static attach(buffers: ExchangeBuffers): GradientExchange {
    return new GradientExchange(buffers);
  }

  get replicas(): number { return this.buffers.replicas; }
  private get set(): number { return this.current % SETS; }
  get command(): Command { return this.params[this.set * PARAMS_LENGTH + COMMAND] as Command; }
  get lr(): number { return this.scalars[this.set * SCALARS_LENGTH + LR]!; }
  get step(): number { return this.scalars[this.set * SCALARS_LENGTH + STEP]!; }
  batch(): Int32Array {
    const base = this.set * this.buffers.batchCapacity;
    return this.indices.subarray(base, base + this.params[this.set * PARAMS_LENGTH + BATCH_LENGTH]!);
  }

  /** The current command's losses: FIGURES_PER_REPLICA per replica, in replica order. */
  get figures(): Float64Array {
    const n = this.replicas * FIGURES_PER_REPLICA;
    return this.figureSets.subarray(this.set * n, (this.set + 1) * n);
  }

  /** Replica `r`'s slot of the current command (the first `length` floats). */
  slot(r: number, length: number): Float32Array {
    const base = (this.set * this.replicas + r) * this.buffers.slotLength;
    return this.slots.subarray(base, base + length);
  }

  /** Σ over replicas of slot[offset, offset+out.length), in replica order, into `out`. */
  sumSlots(offset: number, out: Float32Array): Float32Array {
    const n = out.length;
    const first = this.set * this.replicas * this.buffers.slotLength;
    out.set(this.slots.subarray(first + offset, first + offset + n));
    for (let r = 1; r < this.replicas; r++) {
      const base = first + r * this.buffers.slotLength + offset;
      for (let k = 0; k < n; k++) out[k] = out[k]! + this.slots[base + k]!;
    }
    return out;
  }

  /** sumSlots into this replica's own reusable buffer: a view valid until the next call that covers the same range. */
  summed(offset: number, length: number): Float32Array {
    this.sums ??= new Float32Array(this.buffers.slotLength);
    return this.sumSlots(offset, this.sums.subarray(offset, offset + length));
  }

  /**
   * Coordinator: post the next command. It does not wait for the workers to finish the
   * previous one (its slots are the other set): only for the previous barrier, which the
   * coordinator passed itself before it could post again.
   */
  post(command: Command, batch?: ArrayLike<number>, lr = 0, step = 0): void {
    this.throwIfFailed();
    if (Atomics.load(this.control, ARRIVED) < this.replicas * this.current) throw new Error('post: the previous command has not passed its barrier');
    const next = this.current + 1;
    const set = next % SETS;
    if (batch) {
      if (batch.length > this.buffers.batchCapacity) throw new Error(`batch of ${batch.length} exceeds the exchange's ${this.buffers.batchCapacity}`);
      this.indices.set(batch, set * this.buffers.batchCapacity);
    }
    this.params[set * PARAMS_LENGTH + BATCH_LENGTH] = batch ? batch.length : 0;
    this.params[set * PARAMS_LENGTH + COMMAND] = command;
    this.scalars[set * SCALARS_LENGTH + LR] = lr;
    this.scalars[set * SCALARS_LENGTH + STEP] = step;
    this.current = next;
    // The store publishes the writes above to a worker that then loads GENERATION.
    Atomics.store(this.control, GENERATION, next);
    Atomics.notify(this.control, GENERATION);
  }

  /** Worker: block until the coordinator posts the command after the current one. */
  nextCommand(): Command {
    for (;;) {
      this.throwIfFailed();
      const g = Atomics.load(this.control, GENERATION);
      if (g > this.current) {
        this.current++;
        return this.command;
      }
      Atomics.wait(this.control, GENERATION, g, WAIT_SLICE_MS);
    }
  }

  /** Mark this replica's slot written. */
  arrive(): void {
    Atomics.add(this.control, ARRIVED, 1);
    Atomics.notify(this.control, ARRIVED);
  }

  /** Worker: block until every replica has arrived at the current command. */
  allArrived(): void {
    const target = this.replicas * this.current;
    for (;;) {
      this.throwIfFailed();
      const v = Atomics.load(this.control, ARRIVED);
      if (v >= target) return;
      Atomics.wait(this.control, ARRIVED, v, WAIT_SLICE_MS);
    }
  }

  /** Coordinator: wait (without blocking the event loop, so worker errors are heard) until every replica has arrived. */
  async allArrivedAsync(): Promise<void> {
    const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
    const target = this.replicas * this.current;
    for (;;) {
      this.throwIfFailed();
      const v = Atomics.load(this.control, ARRIVED);
      if (v >= target) return;
      const w = waitAsync(this.control, ARRIVED, v, WAIT_SLICE_MS);
      if (w.async) await w.value;
    }
  }

  /** Any replica: give up; every wait then throws instead of hanging. */
  fail(): void {
    Atomics.store(this.control, FAILED, 1);
    for (const i of [GENERATION, ARRIVED]) Atomics.notify(this.control, i);
  }

  private throwIfFailed(): void {
    if (Atomics.load(this.control, FAILED) !== 0) throw new ReplicaFailedError('another replica stopped');
  }
}
