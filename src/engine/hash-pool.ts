// Hashes many files at once on worker threads, so reading and sha256 use every core and
// small files do not pay a round trip through the event loop each.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** The worker body: plain JS (eval) so it needs no TypeScript loader in the thread. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const buf = Buffer.allocUnsafe(1 << 20);
parentPort.on('message', ({ id, files }) => {
  const hashes = [];
  for (const f of files) {
    try {
      const h = createHash('sha256');
      const fd = openSync(f, 'r');
      try { let n; while ((n = readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n)); }
      finally { closeSync(fd); }
      hashes.push(h.digest('hex'));
    } catch (e) { hashes.push('error:' + e.code); }
  }
  parentPort.postMessage({ id, hashes });
});
`;

/** Hash of one file's content, read in 1 MiB pieces; `error:CODE` when it cannot be read. */
export function hashFileSync(file: string, buf: Buffer = Buffer.allocUnsafe(1 << 20)): string {
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

/** Below this many files, starting threads costs more than it saves. */
const PARALLEL_THRESHOLD = 200;
const BATCH = 256;

/**
 * Hashes `files` (absolute paths), returning hashes in the same order. `onProgress` is
 * called with the count done so far.
 */
export async function hashFiles(files: string[], onProgress?: (done: number) => void): Promise<string[]> {
  if (files.length < PARALLEL_THRESHOLD) {
    const buf = Buffer.allocUnsafe(1 << 20);
    return files.map((f) => hashFileSync(f, buf));
  }
  const threads = Math.max(1, Math.min(availableParallelism(), 8, Math.ceil(files.length / BATCH)));
  const result = new Array<string>(files.length);
  let next = 0;
  let done = 0;
  const workers = Array.from({ length: threads }, () => new Worker(WORKER_SOURCE, { eval: true }));
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolveAll, reject) => {
            const sendNext = (): void => {
              if (next >= files.length) return resolveAll();
              const start = next;
              next = Math.min(files.length, next + BATCH);
              worker.postMessage({ id: start, files: files.slice(start, next) });
            };
            worker.on('message', ({ id, hashes }: { id: number; hashes: string[] }) => {
              for (let i = 0; i < hashes.length; i++) result[id + i] = hashes[i]!;
              done += hashes.length;
              onProgress?.(done);
              sendNext();
            });
            worker.on('error', reject);
            sendNext();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return result;
}
