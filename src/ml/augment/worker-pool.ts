// Spreads blob tasks over worker threads (or runs them in this thread when threads = 0),
// keeping a couple in flight per thread so sharp's decode overlaps the pixel work.
import { Worker } from 'node:worker_threads';
import { makeBlob, type BlobOutcome, type BlobTask } from './make-blob.ts';
import type { WorkerReply, WorkerRequest } from './worker.ts';

const IN_FLIGHT_PER_THREAD = 2;

/**
 * Node 20 does not carry `--import tsx` into worker threads, so the worker registers tsx's
 * loader itself before importing the .ts entry.
 */
const WORKER_BOOTSTRAP = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./worker.ts', import.meta.url).href)}); })`;

export class BlobPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (o: BlobOutcome) => void; reject: (e: Error) => void }>();
  private nextId = 0;

  constructor(readonly threads: number) {
    for (let i = 0; i < threads; i++) {
      const w = new Worker(WORKER_BOOTSTRAP, { eval: true });
      w.on('message', (reply: WorkerReply) => {
        const p = this.pending.get(reply.id);
        this.pending.delete(reply.id);
        p?.resolve(reply.outcome);
      });
      w.on('error', (err) => this.failAll(err));
      this.workers.push(w);
    }
  }

  /** Runs every task; `onDone` is called after each. Results are in task order. */
  async runAll(tasks: readonly BlobTask[], onDone: (task: BlobTask, outcome: BlobOutcome) => void): Promise<BlobOutcome[]> {
    const results: BlobOutcome[] = new Array(tasks.length);
    let next = 0;
    const lanes = Math.max(1, this.threads) * IN_FLIGHT_PER_THREAD;
    const lane = async (laneIndex: number) => {
      while (next < tasks.length) {
        const i = next++;
        const task = tasks[i]!;
        results[i] = await this.runOne(task, laneIndex);
        onDone(task, results[i]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(lanes, tasks.length) }, (_, l) => lane(l)));
    return results;
  }

  private runOne(task: BlobTask, lane: number): Promise<BlobOutcome> {
    if (this.threads === 0) return makeBlob(task);
    const id = this.nextId++;
    const worker = this.workers[lane % this.workers.length]!;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, task } satisfies WorkerRequest);
    });
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
