// Renders many jobs, in worker threads when asked (each job's bytes depend only on the job, so the order and thread do not matter).
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { parentPort, Worker } from 'node:worker_threads';
import { renderImage, type RenderJob } from './render-image.ts';

/** Called once per finished job, in any order. */
export type OnRendered = (index: number, bytes: Buffer) => Promise<void> | void;

const BATCH = 16;

/** Renders `jobs` with `workers` threads (0 = in this thread) and hands each result to `onRendered`. */
export async function renderAll(jobs: readonly RenderJob[], workers: number, onRendered: OnRendered): Promise<void> {
  if (workers <= 0) {
    for (const [i, job] of jobs.entries()) await onRendered(i, await renderImage(job));
    return;
  }
  const batches: number[][] = [];
  for (let i = 0; i < jobs.length; i += BATCH) batches.push(Array.from({ length: Math.min(BATCH, jobs.length - i) }, (_, k) => i + k));
  let next = 0;
  const threads = Array.from({ length: Math.min(workers, batches.length) }, () => spawnWorker());
  try {
    await Promise.all(
      threads.map(async (worker) => {
        while (next < batches.length) {
          const batch = next++;
          const indices = batches[batch]!;
          const images = await renderBatch(worker, batch, indices.map((i) => jobs[i]!));
          for (const [k, bytes] of images.entries()) await onRendered(indices[k]!, Buffer.from(bytes));
        }
      }),
    );
  } finally {
    await Promise.all(threads.map((w) => w.terminate()));
  }
}

function spawnWorker(): Worker {
  // The worker runs this very module (so the engine's code hash, which follows static
  // imports, covers it): register tsx in the thread first, since a .ts file cannot be handed
  // to Worker directly, then serve jobs.
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');
  const self = JSON.stringify(import.meta.url);
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${self}); }).then((m) => m.serveRenderJobs())`;
  return new Worker(boot, { eval: true });
}

/** Worker side: renders each batch it is sent and posts back the encoded bytes (transferred, not copied). */
export function serveRenderJobs(): void {
  if (!parentPort) throw new Error('serveRenderJobs() must run in a worker thread');
  const port = parentPort;
  port.on('message', async (msg: { batch: number; jobs: RenderJob[] }) => {
    try {
      const images: Uint8Array[] = [];
      for (const job of msg.jobs) images.push(new Uint8Array(await renderImage(job)));
      port.postMessage({ batch: msg.batch, images }, images.map((b) => b.buffer as ArrayBuffer));
    } catch (e) {
      port.postMessage({ batch: msg.batch, error: (e as Error).stack ?? String(e) });
    }
  });
}

function renderBatch(worker: Worker, batch: number, jobs: RenderJob[]): Promise<Uint8Array[]> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: { batch: number; images?: Uint8Array[]; error?: string }) => {
      if (msg.batch !== batch) return;
      cleanup();
      if (msg.error !== undefined || !msg.images) reject(new Error(`render worker failed: ${msg.error}`));
      else resolve(msg.images);
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.postMessage({ batch, jobs });
  });
}
