// `pipeline capture-plan`: what the operator still has to photograph, per target part, from the real captures on disk now.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/load-config.ts';
import { formatDiagnostic } from '../../engine/diagnostic.ts';
import { findProjectRoot } from '../../engine/stage-context.ts';
import { formatCapturePlan, planCaptures } from '../../ml/dataset/capture-plan.ts';
import { parseDataConfig } from '../../ml/dataset/data-config.ts';
import { loadColors, loadTargetParts } from '../../ml/dataset/labels.ts';
import { scanSource } from '../../ml/dataset/scan-source.ts';

export const summary = 'Show the real captures per target part against the capture plan, and how many are still to photograph (--json)';

const USAGE = 'usage: pipeline capture-plan [--json] [--config config/data.yaml]';

export async function run(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({ args: argv, options: { json: { type: 'boolean' }, config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    console.error(`capture-plan: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.values.help) {
    console.log(`${summary}\n${USAGE}`);
    return 0;
  }
  const root = findProjectRoot(process.cwd());
  const configFile = args.values.config ?? 'config/data.yaml';
  // The file as written; the settings reader below checks it against its schema.
  const loaded = loadConfig(join(root, configFile), configFile);
  if (!loaded.ok) {
    for (const d of loaded.error) console.error(`capture-plan: ${formatDiagnostic(d)}`);
    return 2;
  }
  const raw = loaded.value.data;
  const config = parseDataConfig(raw, join(root, configFile), ['sources', 'filter', 'capture_plan'], configFile);
  const colors = loadColors(join(root, 'config/colors.json'), 'config/colors.json');
  const targets = loadTargetParts(join(root, 'config/target_parts.json'), 'config/target_parts.json');
  if (!config.ok || !colors.ok || !targets.ok) {
    for (const r of [config, colors, targets]) if (!r.ok) console.error(`capture-plan: ${r.message}`);
    return 2;
  }
  // Only the folders are read (no decoding), so it is instant while capturing; the filter stage checks every image.
  const targetParts = new Set(targets.value.map((t) => t.id));
  const captures = config.value.sources
    .filter((s) => s.use === 'split')
    .flatMap((s) => scanSource(s, { projectRoot: root, targetParts, extensions: config.value.filter.extensions }).candidates)
    .map((c) => ({ partId: c.partId, colorId: c.colorId }));
  const plan = planCaptures(captures, targets.value, colors.value, config.value.capture_plan);
  process.stdout.write(args.values.json ? JSON.stringify(plan, null, 2) + '\n' : formatCapturePlan(plan));
  return 0;
}
