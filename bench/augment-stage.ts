// Benchmark: the augment-cache build on a demo-sized dataset. Prints images/s with 0 (main
// thread), 1 and 2 worker threads, the cost of a rerun after adding 10% new images (as a
// share of a full run), the no-change rerun, and how long readAugmentCache takes.
//
//   node --import tsx bench/augment-stage.ts [--images 3000] [--size 64] [--variants 4] [--threads 0,1,2]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readAugmentCache } from '../src/ml/augment-cache-reader.ts';
import { buildAugmentCache } from '../src/ml/augment/build-cache.ts';
import { defaultAugmentConfig } from '../src/ml/augment/config.ts';
import { makeImages, writeManifest } from '../test/augment/make-dataset.ts';

const { values } = parseArgs({ options: {
  images: { type: 'string', default: '3000' }, size: { type: 'string', default: '64' },
  variants: { type: 'string', default: '4' }, threads: { type: 'string', default: '0,1,2' },
} });
const total = Number(values.images), size = Number(values.size);
const config = { ...defaultAugmentConfig(), variants: Number(values.variants) };
const threadCounts = values.threads.split(',').map(Number);

const root = mkdtempSync(join(tmpdir(), 'augment-stage-bench-'));
const quiet = () => {};
try {
  // 80/10/10 split, like the demo dataset; 10% more training images come later.
  const base = await makeImages(root, { train: Math.round(total * 0.8), val: Math.round(total * 0.1), test: Math.round(total * 0.1) });
  const extra = await makeImages(root, { train: Math.round(total * 0.1), val: 0, test: 0, startAt: total + 1 });
  const build = async (cacheName: string, threads: number) => {
    const t = performance.now();
    const c = process.cpuUsage(); // whole process, worker threads included
    const s = await buildAugmentCache({ datasetDir: join(root, 'artifacts/dataset'), cacheDir: join(root, cacheName), root, size, config, threads, log: quiet });
    const u = process.cpuUsage(c);
    return { seconds: (performance.now() - t) / 1000, cpu: (u.user + u.system) / 1e6, made: s.made, phases: s.phases };
  };
  writeManifest(root, base);
  console.log(`${base.length} images (${Math.round(total * 0.8)} train x ${config.variants} variants) at ${size}px, 128px png/jpeg sources`);
  let full = { seconds: 0, cpu: 0, made: 0, phases: { make: 0, pack: 0, sheet: 0 } };
  for (const threads of threadCounts) {
    full = await build(`cache-t${threads}`, threads);
    console.log(`full build, ${threads} worker thread(s): ${full.seconds.toFixed(2)} s, ${(base.length / full.seconds).toFixed(0)} source images/s, ${full.cpu.toFixed(1)} CPU s`);
  }
  const last = `cache-t${threadCounts.at(-1)}`;
  const noop = await build(last, threadCounts.at(-1)!);
  console.log(`rerun, nothing changed: ${noop.seconds.toFixed(2)} s, ${noop.cpu.toFixed(2)} CPU s (${noop.made} made)`);
  writeManifest(root, [...base, ...extra]);
  const inc = await build(last, threadCounts.at(-1)!);
  console.log(`rerun after adding ${extra.length} images (+${((extra.length / base.length) * 100).toFixed(0)}%): ${inc.seconds.toFixed(2)} s, ${inc.cpu.toFixed(1)} CPU s ` +
    `(${inc.made} made) = ${((inc.seconds / full.seconds) * 100).toFixed(0)}% of the last full build's time, ${((inc.cpu / full.cpu) * 100).toFixed(0)}% of its CPU; phases ${JSON.stringify(inc.phases)}`);
  const t = performance.now();
  const cache = readAugmentCache(join(root, last));
  const readMs = performance.now() - t;
  const mb = (cache.train.images.byteLength + cache.val.images.byteLength + cache.test.images.byteLength) / 1e6;
  console.log(`readAugmentCache: ${readMs.toFixed(0)} ms for ${cache.train.n + cache.val.n + cache.test.n} samples (${mb.toFixed(0)} MB)`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
