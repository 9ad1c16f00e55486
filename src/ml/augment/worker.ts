// Worker-thread entry of the augment pool: makes the blobs it is sent and answers by id.
import { parentPort } from 'node:worker_threads';
import { makeBlob, type BlobTask } from './make-blob.ts';

export interface WorkerRequest { id: number; task: BlobTask }
export interface WorkerReply { id: number; outcome: Awaited<ReturnType<typeof makeBlob>> }

if (!parentPort) throw new Error('augment/worker.ts is a worker_threads entry point');
const port = parentPort;
port.on('message', (msg: WorkerRequest) => {
  makeBlob(msg.task).then(
    (outcome) => port.postMessage({ id: msg.id, outcome } satisfies WorkerReply),
    // An exception here is a bug (e.g. disk full); report it as this task's failure.
    (err: unknown) => port.postMessage({ id: msg.id, outcome: { ok: false, reason: `error: ${String(err)}` } } satisfies WorkerReply),
  );
});
