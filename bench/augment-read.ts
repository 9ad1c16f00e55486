// Benchmark: how long readAugmentCache takes on an existing cache (e.g. the demo's), and
// what it holds.
//
//   node --import tsx bench/augment-read.ts [artifacts/augment-cache]
import { readAugmentCache } from '../src/ml/augment-cache-reader.ts';

const dir = process.argv[2] ?? 'artifacts/augment-cache';
readAugmentCache(dir); // first read warms the page cache, as a train run after the stage would find it
const times: number[] = [];
let cache = readAugmentCache(dir);
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  cache = readAugmentCache(dir);
  times.push(performance.now() - t);
}
const bytes = cache.train.images.byteLength + cache.val.images.byteLength + cache.test.images.byteLength;
const bySource = new Map<string, number>();
for (const s of cache.train.source) bySource.set(s, (bySource.get(s) ?? 0) + 1);
console.log(`${dir}: train ${cache.train.n}, val ${cache.val.n}, test ${cache.test.n} samples at ${cache.train.height}x${cache.train.width}, ` +
  `${(bytes / 1e6).toFixed(0)} MB; train by source ${JSON.stringify(Object.fromEntries(bySource))}`);
console.log(`readAugmentCache: best ${Math.min(...times).toFixed(0)} ms, median ${times.sort((a, b) => a - b)[1]!.toFixed(0)} ms of 3`);
