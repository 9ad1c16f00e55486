// Hashes many files at once on worker threads, so reads and sha256 use every core and
// small files do not each pay a round trip through the event loop.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { parseRecord } from './file-lister.ts';
import { encodeRecords, type Hash } from './stat-cache.ts';

/**
 * Content hash of one file: sha256 hex, or `error:CODE` when it cannot be read. Opened
 * non-blocking, so a file swapped for a FIFO after listing cannot hang the read. Given the
 * size it was listed with, a small file read whole in one positional read of exactly that
 * many bytes is taken as the listed file without an fstat (a FIFO swapped in fails the
 * positional read, a device gives another count); otherwise fstat checks it is a regular
 * file (`error:ENOTREG`). A plain function: the workers run its source.
 */
function hashFileSync(fs: typeof import('node:fs'), crypto: typeof import('node:crypto'), file: string, buf: Buffer, listedSize = -1): string {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    if (listedSize > 0 && listedSize < buf.length) {
      let n = -1;
      try {
        n = fs.readSync(fd, buf, 0, buf.length, 0);
      } catch {
        // not a file one can read at an offset: the fstat below says what it is
      }
      if (n === listedSize) return crypto.hash('sha256', buf.subarray(0, n), 'hex');
    }
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return 'error:ENOTREG';
    let n = fs.readSync(fd, buf, 0, buf.length, 0);
    // The whole file in one read (most are small): one-shot hash, no second read for EOF.
    if (n === st.size && n < buf.length) return crypto.hash('sha256', buf.subarray(0, n), 'hex');
    const h = crypto.createHash('sha256');
    for (let pos = 0; n > 0; pos += n, n = fs.readSync(fd, buf, 0, buf.length, pos)) h.update(buf.subarray(0, n));
    return h.digest('hex');
  } catch (err) {
    return `error:${(err as NodeJS.ErrnoException).code ?? 'EIO'}`;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** What hashing a run of listing records gives (hashRecords). */
export interface RecordsHashed {
  /** The files' manifest lines, `path NUL hash LF` with paths below the folder, sorted and joined. */
  lines: string;
  /** Stat-cache set records (encodeRecords) of the files that could be read. */
  log: Buffer;
  logRecords: number;
  files: number;
  /** Their sizes as listed, summed. */
  bytes: number;
  /** Files that could not be read: path below the folder, error code. */
  errors: [string, string][];
}

/** What hashRecords calls, passed in: the workers run its source, where no module is in scope. */
interface RecordsLib {
  fs: typeof fs;
  crypto: typeof crypto;
  crc32: typeof crc32;
  parseRecord: typeof parseRecord;
  encodeRecords: typeof encodeRecords;
  hashFileSync: typeof hashFileSync;
}

/**
 * Hashes the regular files of whole listing records (file-lister.ts) of folder `folder`,
 * whose files lie under `base`: each file's manifest line and stat-cache record are made
 * here, so the thread that asked keeps no per-file object. A plain function: the workers
 * run its source, and the main thread runs it for a small folder.
 */
function hashRecords(lib: RecordsLib, base: string, folder: string, records: Uint8Array, buf: Buffer): RecordsHashed {
  const text = Buffer.from(records.buffer, records.byteOffset, records.byteLength).toString('utf8');
  const lines: string[] = [];
  const sets: [string, { key: string; hash: Hash }][] = [];
  const errors: [string, string][] = [];
  let bytes = 0;
  let start = 0;
  for (let end = text.indexOf('\0'); end >= 0; start = end + 1, end = text.indexOf('\0', start)) {
    if (text.charCodeAt(start) !== 102 /* f */) continue;
    const { key, path } = lib.parseRecord(text, start, end);
    const size = Number(key.slice(key.indexOf(':', key.indexOf(':') + 1) + 1, key.lastIndexOf(':'))); // dev:ino:SIZE:mtime
    const hash = lib.hashFileSync(lib.fs, lib.crypto, base + path, buf, size);
    bytes += size;
    lines.push(`${path}\0${hash}\n`);
    if (hash.startsWith('error:')) errors.push([path, hash.slice(6)]);
    else sets.push([`${folder}/${path}`, { key, hash: hash as Hash }]);
  }
  lines.sort(); // each run sorted here: the final sort of all runs then mostly merges
  return { lines: lines.join(''), log: lib.encodeRecords(sets, lib.crc32), logRecords: sets.length, files: lines.length, bytes, errors };
}

/** The worker body, plain JS (eval) so it needs no TypeScript loader in the thread. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const lib = {
  fs: require('node:fs'),
  crypto: require('node:crypto'),
  crc32: require('node:zlib').crc32,
  parseRecord: ${parseRecord.toString()},
  encodeRecords: ${encodeRecords.toString()},
  hashFileSync: ${hashFileSync.toString()},
};
const hashRecords = ${hashRecords.toString()};
const buf = Buffer.allocUnsafe(1 << 20);
parentPort.on('message', (m) => {
  const out = m.records
    ? hashRecords(lib, m.base, m.folder, m.records, buf)
    : m.files.map((f) => lib.hashFileSync(lib.fs, lib.crypto, m.base + f, buf));
  parentPort.postMessage({ id: m.id, out });
});
`;

const LIB: RecordsLib = { fs, crypto, crc32, parseRecord, encodeRecords, hashFileSync };

/** Below this many files, starting threads costs more than it saves. */
export const PARALLEL_THRESHOLD = 2000;
const BATCH = 1024;
/** Records sent to a worker at once (a pipe's worth from find: about a thousand files). */
const RECORDS_BATCH = 64 * 1024;
/** Batches queued on each worker: it starts the next while this thread (maybe descheduled on a busy machine) handles an answer. */
const IN_FLIGHT = 2;

interface Task {
  message: Record<string, unknown>;
  transfer: ArrayBuffer[];
  resolve: (out: unknown) => void;
  reject: (err: Error) => void;
}

/** A few worker threads for one command; `close()` when done. Small jobs stay on the main thread. */
export class HashPool {
  private workers: { worker: Worker; inFlight: Map<number, Task> }[] | undefined;
  private readonly queue: Task[] = [];
  private nextId = 0;
  private failed: Error | undefined;
  private readonly buf = Buffer.allocUnsafe(1 << 20);

  /**
   * Content hashes of `files`, in order; `error:CODE` for one that cannot be read. Paths
   * are relative to `root` when given (one string a message instead of one a file).
   */
  async hash(files: string[], onProgress?: (done: number) => void, root?: string): Promise<string[]> {
    const base = root === undefined ? '' : `${root}/`;
    if (files.length < PARALLEL_THRESHOLD) return files.map((f) => hashFileSync(fs, crypto, base + f, this.buf));
    const result = new Array<string>(files.length);
    let done = 0;
    const batches: Promise<void>[] = [];
    for (let start = 0; start < files.length; start += BATCH) {
      const batch = files.slice(start, start + BATCH);
      batches.push(
        this.submit<string[]>({ base, files: batch }).then((out) => {
          for (let i = 0; i < out.length; i++) result[start + i] = out[i]!;
          done += out.length;
          onProgress?.(done);
        }),
      );
    }
    await Promise.all(batches);
    return result;
  }

  /** Hashes whole listing records of `folder` (below `root`) on a worker: see hashRecords. */
  async hashRecords(root: string, folder: string, records: Uint8Array): Promise<RecordsHashed> {
    // A copy of its own, handed over: a view's whole backing buffer would be cloned.
    const own = new Uint8Array(records);
    const out = await this.submit<RecordsHashed>({ base: `${root}/${folder}/`, folder, records: own }, [own.buffer]);
    return { ...out, log: Buffer.from(out.log.buffer, out.log.byteOffset, out.log.byteLength) }; // a Buffer arrives as a plain Uint8Array
  }

  /** The same on this thread (a small folder). */
  hashRecordsHere(root: string, folder: string, records: Uint8Array): RecordsHashed {
    return hashRecords(LIB, `${root}/${folder}/`, folder, records, this.buf);
  }

  /** Starts the threads, on the first batch handed to them. */
  private start(): void {
    this.workers ??= Array.from({ length: Math.max(1, Math.min(availableParallelism(), 8)) }, () => {
      // No execArgv: a worker must not load the TypeScript loader the parent may run under.
      const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
      const slot = { worker, inFlight: new Map<number, Task>() };
      worker.on('message', ({ id, out }: { id: number; out: unknown }) => {
        const task = slot.inFlight.get(id)!;
        slot.inFlight.delete(id);
        this.pump();
        task.resolve(out);
      });
      worker.on('error', (err) => this.fail(err));
      return slot;
    });
  }

  async close(): Promise<void> {
    const ws = this.workers ?? [];
    this.workers = undefined;
    await Promise.all(ws.map((w) => w.worker.terminate()));
  }

  private submit<T>(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ message, transfer, resolve: resolve as (out: unknown) => void, reject });
      this.pump();
    });
  }

  /** Hands queued batches to workers with room for one. */
  private pump(): void {
    this.start();
    for (const slot of this.workers!) {
      while (slot.inFlight.size < IN_FLIGHT && this.queue.length > 0) {
        const task = this.queue.shift()!;
        const id = this.nextId++;
        slot.inFlight.set(id, task);
        slot.worker.postMessage({ id, ...task.message }, task.transfer);
      }
    }
  }

  /** A worker died: every batch waiting fails with its error. */
  private fail(err: Error): void {
    this.failed = err;
    for (const slot of this.workers ?? []) {
      for (const task of slot.inFlight.values()) task.reject(err);
      slot.inFlight.clear();
    }
    for (const task of this.queue.splice(0)) task.reject(err);
  }
}

/** Cuts whole records into batches of about RECORDS_BATCH bytes, each ending with a record's NUL. */
export function* recordBatches(records: Uint8Array): Generator<Uint8Array> {
  const buf = Buffer.from(records.buffer, records.byteOffset, records.byteLength);
  for (let start = 0; start < buf.length; ) {
    let end = start + RECORDS_BATCH >= buf.length ? buf.length : buf.lastIndexOf(0, start + RECORDS_BATCH - 1) + 1;
    if (end <= start) end = buf.indexOf(0, start + RECORDS_BATCH) + 1 || buf.length; // one record longer than a batch
    yield buf.subarray(start, end);
    start = end;
  }
}
