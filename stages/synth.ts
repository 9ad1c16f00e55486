// The synth stage: renders the demo dataset (data/synthetic) from config/data.yaml [synth],
// the target parts and the head's colors.
import { mkdirSync, rmSync } from 'node:fs';
import { readStageContext } from '../src/engine/stage-context.ts';
import { parseDataConfig } from '../src/ml/dataset/data-config.ts';
import { loadColors, loadTargetParts } from '../src/ml/dataset/labels.ts';
import { generateSynthetic } from '../src/synth/generate.ts';

const DATA_CONFIG = 'config/data.yaml';
const COLORS = 'config/colors.json';
const TARGETS = 'config/target_parts.json';

async function main(): Promise<number> {
  const ctx = readStageContext('synth');
  const config = parseDataConfig(ctx.params[DATA_CONFIG], ctx.abs(DATA_CONFIG), ['synth'], DATA_CONFIG);
  const colors = loadColors(ctx.abs(COLORS), COLORS);
  const targets = loadTargetParts(ctx.abs(TARGETS), TARGETS);
  if (!config.ok || !colors.ok || !targets.ok) {
    for (const r of [config, colors, targets]) if (!r.ok) console.error(`synth: ${r.message}`);
    return 2;
  }
  const outDir = ctx.out('synthetic');
  rmSync(outDir, { recursive: true, force: true }); // started by hand, a stale folder must not mix in
  if (!config.value.synth.enabled) {
    mkdirSync(outDir, { recursive: true }); // the declared out, empty: nothing downstream reads it
    console.log(`synth: the demo renderer is off (synth.enabled: false in ${DATA_CONFIG}); nothing rendered`);
    return 0;
  }
  const report = await generateSynthetic(outDir, config.value.synth, targets.value.map((p) => p.id), colors.value);
  for (const id of report.skippedParts) console.warn(`synth: warning: no geometry for target part ${id} (${TARGETS}); it gets no demo images`);
  const sources = Object.entries(report.perSource).map(([s, n]) => `${s} ${n}`).join(', ');
  console.log(`synth: ${report.images} images (${sources}) in ${report.seconds.toFixed(1)} s, ${report.imagesPerSecond.toFixed(1)} images/s with ${config.value.synth.workers} worker(s)`);
  return 0;
}

process.exitCode = await main();
