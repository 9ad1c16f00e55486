// Worker thread entry: renders batches of jobs sent by render-pool.ts and posts back the encoded bytes.
import { parentPort } from 'node:worker_threads';
import { renderImage, type RenderJob } from './render-image.ts';

if (!parentPort) throw new Error('render-worker.ts must run as a worker thread');
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
