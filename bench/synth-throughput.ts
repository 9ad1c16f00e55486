// Prints the demo renderer's speed: images/s per source in one thread, then the whole plan
// shape through the worker pool (1 and 2 threads). Usage: node --import tsx bench/synth-throughput.ts [imagesPerSource]
import { renderImage, type RenderJob } from '../src/synth/render-image.ts';
import { renderAll } from '../src/synth/render-pool.ts';
import { seedFrom } from '../src/ml/random.ts';
import type { SourceName } from '../src/synth/source-styles.ts';

const n = Number(process.argv[2] ?? 120);
const parts = ['3001', '3003', '3005', '3020', '3024', '3068', '3039', '3040', '3062', '4073'];
const settings: Record<SourceName, Pick<RenderJob, 'size' | 'format' | 'quality'>> = {
  legacy: { size: 128, format: 'png', quality: 90 },
  b200c: { size: 64, format: 'jpeg', quality: 90 },
  real: { size: 128, format: 'jpeg', quality: 85 },
};
const jobsFor = (source: SourceName): RenderJob[] =>
  Array.from({ length: n }, (_, i) => ({ source, partId: parts[i % parts.length]!, rgb: 'C91A09', seed: seedFrom('bench', source, i), supersample: 2, ...settings[source] }));

for (const source of Object.keys(settings) as SourceName[]) {
  const jobs = jobsFor(source);
  await renderImage(jobs[0]!); // warm up the JIT and sharp
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  for (const job of jobs) await renderImage(job);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  // CPU time counts this process's threads (JS and sharp's encoder), so it is steadier than wall time on a shared machine.
  const cpuMs = (cpu.user + cpu.system) / 1000 / n;
  console.log(`${source.padEnd(6)} ${settings[source].size}px ${settings[source].format}: ${(n / s).toFixed(1)} images/s wall, ${cpuMs.toFixed(1)} CPU-ms/image (1 thread, ${n} images)`);
}

const mixed = (['legacy', 'b200c', 'real'] as const).flatMap(jobsFor);
const rates: number[] = [];
for (const workers of [1, 2]) {
  const t0 = process.hrtime.bigint();
  await renderAll(mixed, workers, () => undefined);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  rates.push(mixed.length / s);
  console.log(`pool of ${workers} worker(s): ${(mixed.length / s).toFixed(1)} images/s (${mixed.length} images, worker start-up included)`);
}
console.log(`speed-up 2 vs 1 worker: ${(rates[1]! / rates[0]!).toFixed(2)}x (machine shared: compare with \`uptime\` load)`);
