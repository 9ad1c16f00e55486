// Hashes many files at once on worker threads, so reads and sha256 use every core and
// small files do not each pay a round trip through the event loop.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * Content hash of one file: sha256 hex, or `error:CODE` when it cannot be read. Opened
 * non-blocking and checked with fstat, so a file swapped for a FIFO after listing cannot
 * hang the read (EINVAL-like `error:ENOTREG`). A plain function: the workers run its source.
 */
function hashFileSync(fs: typeof import('node:fs'), crypto: typeof import('node:crypto'), file: string, buf: Buffer): string {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return 'error:ENOTREG';
    let n = fs.readSync(fd, buf, 0, buf.length, null);
    // The whole file in one read (most are small): one-shot hash, no second read for EOF.
    if (n === st.size && n < buf.length) return crypto.hash('sha256', buf.subarray(0, n), 'hex');
    const h = crypto.createHash('sha256');
    for (; n > 0; n = fs.readSync(fd, buf, 0, buf.length, null)) h.update(buf.subarray(0, n));
    return h.digest('hex');
  } catch (err) {
    return `error:${(err as NodeJS.ErrnoException).code ?? 'EIO'}`;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** The worker body, plain JS (eval) so it needs no TypeScript loader in the thread. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const buf = Buffer.allocUnsafe(1 << 20);
const hashFileSync = ${hashFileSync.toString()};
parentPort.on('message', ({ id, base, files }) => {
  parentPort.postMessage({ id, out: files.map((f) => hashFileSync(fs, crypto, base + f, buf)) });
});
`;

/** Below this many files, starting threads costs more than it saves. */
export const PARALLEL_THRESHOLD = 2000;
const BATCH = 1024;

/** A few worker threads for one command; `close()` when done. Small jobs stay on the main thread. */
export class HashPool {
  private workers: Worker[] | undefined;
  private readonly buf = Buffer.allocUnsafe(1 << 20);

  /**
   * Content hashes of `files`, in order; `error:CODE` for one that cannot be read. Paths
   * are relative to `root` when given (one string a message instead of one a file).
   */
  async hash(files: string[], onProgress?: (done: number) => void, root?: string): Promise<string[]> {
    const base = root === undefined ? '' : `${root}/`;
    if (files.length < PARALLEL_THRESHOLD) return files.map((f) => hashFileSync(fs, crypto, base + f, this.buf));
    return this.onWorkers(files, base, onProgress);
  }

  /** Starts the threads now, e.g. while still listing files known to be many. */
  start(): void {
    this.workers ??= Array.from(
      { length: Math.max(1, Math.min(availableParallelism(), 8)) },
      // No execArgv: a worker must not load the TypeScript loader the parent may run under.
      () => new Worker(WORKER_SOURCE, { eval: true, execArgv: [] }),
    );
  }

  async close(): Promise<void> {
    const ws = this.workers ?? [];
    this.workers = undefined;
    await Promise.all(ws.map((w) => w.terminate()));
  }

  private async onWorkers(files: string[], base: string, onProgress?: (done: number) => void): Promise<string[]> {
    this.start();
    const workers = this.workers!;
    const result = new Array<string>(files.length);
    let next = 0;
    let done = 0;
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolveAll, reject) => {
            let inFlight = 0;
            const onMessage = ({ id, out }: { id: number; out: string[] }): void => {
              inFlight--;
              for (let i = 0; i < out.length; i++) result[id + i] = out[i]!;
              done += out.length;
              onProgress?.(done);
              sendNext();
            };
            const finish = (err?: Error): void => {
              worker.off('message', onMessage);
              worker.off('error', finish);
              if (err) reject(err);
              else resolveAll();
            };
            const sendNext = (): void => {
              if (next >= files.length) {
                if (inFlight === 0) finish();
                return;
              }
              const start = next;
              next = Math.min(files.length, next + BATCH);
              inFlight++;
              worker.postMessage({ id: start, base, files: files.slice(start, next) });
            };
            worker.on('message', onMessage);
            worker.on('error', finish);
            // Two batches queued per worker: it starts the second while this thread (maybe
            // descheduled on a busy machine) handles the first's answer.
            sendNext();
            sendNext();
          }),
      ),
    );
    return result;
  }
}
