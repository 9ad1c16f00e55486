// Hashes many files at once on worker threads, so reads and sha256 use every core and
// small files do not each pay a round trip through the event loop. (Stat alone is cheaper
// on the calling thread: see PathHasher.)
import { createHash, hash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * The worker body, plain JS (eval) so it needs no TypeScript loader in the thread; it
 * mirrors hashFileSync and statAndHash below: `hash` answers a file's sha256 hex or
 * `error:CODE`, `statAndHash` its stat key and hash read once.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash, hash } = require('node:crypto');
const { openSync, readSync, closeSync, fstatSync } = require('node:fs');
const buf = Buffer.allocUnsafe(1 << 20);
function hashFileSync(f) {
  try {
    const h = createHash('sha256');
    const fd = openSync(f, 'r');
    try { let n; while ((n = readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n)); }
    finally { closeSync(fd); }
    return h.digest('hex');
  } catch (e) { return 'error:' + (e.code || 'EIO'); }
}
function statAndHash(f) {
  let fd;
  try {
    fd = openSync(f, 'r');
    const st = fstatSync(fd, { bigint: true });
    if (st.isDirectory()) return 'dir';
    let n = readSync(fd, buf, 0, buf.length, null);
    let digest;
    if (n === Number(st.size) && n < buf.length) digest = hash('sha256', buf.subarray(0, n), 'hex');
    else {
      const h = createHash('sha256');
      for (; n > 0; n = readSync(fd, buf, 0, buf.length, null)) h.update(buf.subarray(0, n));
      digest = h.digest('hex');
    }
    return st.dev + ':' + st.ino + ':' + st.size + ':' + st.mtimeNs + '\t' + digest;
  } catch (e) { return e.code === 'ENOENT' ? '' : 'error:' + (e.code || 'EIO'); }
  finally { if (fd !== undefined) closeSync(fd); }
}
const OPS = { hash: hashFileSync, statAndHash };
parentPort.on('message', ({ id, op, files }) => {
  parentPort.postMessage({ id, out: files.map(OPS[op]) });
});
`;

/** `dev:ino:size:mtimeNs` of a file (following symlinks); '' if missing, 'dir' for a folder. */
export function statKeyOf(file: string): string {
  const st = statSync(file, { bigint: true, throwIfNoEntry: false });
  if (!st) return '';
  if (st.isDirectory()) return 'dir';
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`;
}

/** Hash of one file's content, read in 1 MiB pieces; `error:CODE` when it cannot be read. */
export function hashFileSync(file: string, buf: Buffer): string {
  try {
    const h = createHash('sha256');
    const fd = openSync(file, 'r');
    try {
      let n: number;
      while ((n = readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
    return h.digest('hex');
  } catch (err) {
    return `error:${(err as NodeJS.ErrnoException).code ?? 'EIO'}`;
  }
}

/**
 * Stat key and hash of a file read once (fstat on the open file): `key \t hash`; '' if
 * missing, 'dir' for a folder, `error:CODE` if unreadable. For files seen the first time.
 */
export function statAndHash(file: string, buf: Buffer): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const st = fstatSync(fd, { bigint: true });
    if (st.isDirectory()) return 'dir';
    let n = readSync(fd, buf, 0, buf.length, null);
    let digest: string;
    // The whole file in one read (most are small): one-shot hash, no second read for EOF.
    if (n === Number(st.size) && n < buf.length) digest = hash('sha256', buf.subarray(0, n), 'hex');
    else {
      const h = createHash('sha256');
      for (; n > 0; n = readSync(fd, buf, 0, buf.length, null)) h.update(buf.subarray(0, n));
      digest = h.digest('hex');
    }
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}\t${digest}`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? '' : `error:${code ?? 'EIO'}`;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Below this many files, starting threads costs more than it saves. */
export const PARALLEL_THRESHOLD = 2000;
const BATCH = 1024;

type Op = 'hash' | 'statAndHash';

/** A few worker threads for one command; `close()` when done. Small jobs stay on the main thread. */
export class HashPool {
  private workers: Worker[] | undefined;
  private readonly buf = Buffer.allocUnsafe(1 << 20);

  /** `key \t hash` of files never seen before, read once (see statAndHash). */
  statAndHash(files: string[], onProgress?: (done: number) => void): Promise<string[]> {
    return this.map('statAndHash', files, onProgress);
  }

  /** Content hashes of `files` (absolute), in order. */
  hash(files: string[], onProgress?: (done: number) => void): Promise<string[]> {
    return this.map('hash', files, onProgress);
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

  private async map(op: Op, files: string[], onProgress?: (done: number) => void): Promise<string[]> {
    if (files.length < PARALLEL_THRESHOLD) {
      return files.map((f) => (op === 'hash' ? hashFileSync(f, this.buf) : statAndHash(f, this.buf)));
    }
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
              worker.postMessage({ id: start, op, files: files.slice(start, next) });
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
