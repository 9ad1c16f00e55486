// Renders the demo dataset into a folder: plans the images, renders them (in worker threads), writes the files and a record of what was made.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ColorEntry, SynthConfig } from '../ml/dataset/data-config.ts';
import { Progress } from '../ml/progress.ts';
import { planSynth } from './plan.ts';
import { renderAll } from './render-pool.ts';

export interface SynthReport {
  images: number;
  perSource: Record<string, number>;
  skippedParts: string[];
  seconds: number;
  imagesPerSecond: number;
}

/** Writes <outDir>/{legacy,b200c,real}/... and <outDir>/synth.json; returns counts and speed. */
export async function generateSynthetic(
  outDir: string,
  config: SynthConfig,
  targetParts: readonly string[],
  headColors: readonly ColorEntry[],
  log: NodeJS.WriteStream = process.stdout,
): Promise<SynthReport> {
  const plan = planSynth(config, targetParts, headColors);
  const started = Date.now();
  const progress = new Progress('synth', plan.images.length, log);
  const made = new Set<string>();
  await renderAll(
    plan.images.map((p) => p.job),
    config.workers,
    (index, bytes) => {
      const file = join(outDir, plan.images[index]!.relPath);
      const dir = dirname(file);
      if (!made.has(dir)) {
        mkdirSync(dir, { recursive: true });
        made.add(dir);
      }
      writeFileSync(file, bytes);
      progress.tick();
    },
  );
  progress.finish();
  const seconds = (Date.now() - started) / 1000;
  const perSource: Record<string, number> = {};
  for (const p of plan.images) perSource[p.job.source] = (perSource[p.job.source] ?? 0) + 1;
  const report: SynthReport = {
    images: plan.images.length,
    perSource,
    skippedParts: plan.skippedParts,
    seconds,
    imagesPerSecond: plan.images.length / Math.max(seconds, 1e-3),
  };
  mkdirSync(outDir, { recursive: true });
  // No timings in the record: the folder's bytes must depend only on the settings.
  writeFileSync(join(outDir, 'synth.json'), JSON.stringify({ seed: config.seed, images: report.images, per_source: perSource, skipped_parts: plan.skippedParts }, null, 2) + '\n');
  return report;
}
