// The filter stage: turns the configured image sources into artifacts/dataset (manifest, labels,
// summary, bad files, capture plan), from config/data.yaml [sources, split, filter, capture_plan].
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { readStageContext } from '../src/engine/stage-context.ts';
import { buildDataset } from '../src/ml/dataset/build-dataset.ts';
import { formatCapturePlan, planCaptures } from '../src/ml/dataset/capture-plan.ts';
import { parseDataConfig } from '../src/ml/dataset/data-config.ts';
import { loadColors, loadTargetParts } from '../src/ml/dataset/labels.ts';
import { writeDataset } from '../src/ml/dataset/write-dataset.ts';

const DATA_CONFIG = 'config/data.yaml';
const COLORS = 'config/colors.json';
const TARGETS = 'config/target_parts.json';

async function main(): Promise<number> {
  const ctx = readStageContext('filter');
  const config = parseDataConfig(ctx.params[DATA_CONFIG], ctx.abs(DATA_CONFIG), ['sources', 'split', 'filter', 'capture_plan'], DATA_CONFIG);
  const colors = loadColors(ctx.abs(COLORS), COLORS);
  const targets = loadTargetParts(ctx.abs(TARGETS), TARGETS);
  if (!config.ok || !colors.ok || !targets.ok) {
    for (const r of [config, colors, targets]) if (!r.ok) console.error(`filter: ${r.message}`);
    return 2;
  }
  const { sources, split, filter, capture_plan } = config.value;
  const dataset = await buildDataset({ projectRoot: ctx.root, sources, targets: targets.value, colors: colors.value, split, rules: filter });
  const splitSources = new Set(sources.filter((s) => s.use === 'split').map((s) => s.name));
  const captures = dataset.manifest.filter((m) => splitSources.has(m.source)).map((m) => ({ partId: m.part_id, colorId: m.color_id }));
  const plan = planCaptures(captures, targets.value, colors.value, capture_plan);
  const outDir = ctx.out('dataset');
  writeDataset(outDir, dataset, plan);

  const s = dataset.summary;
  // In config order, not manifest (path) order: data/captures would otherwise put `real` first.
  const perSource = sources.filter((src) => s.per_source[src.name]).map((src) => `${src.name} ${s.per_source[src.name]!['total']}`).join(', ');
  console.log(`filter: ${s.images} images kept (${perSource}); train ${s.per_split['train']}, val ${s.per_split['val']}, test ${s.per_split['test']}`);
  if (s.skipped.hidden > 0) console.log(`filter: skipped ${s.skipped.hidden} hidden file(s) (names starting with '.', e.g. .DS_Store)`);
  if (s.skipped.files > 0) {
    const reasons = Object.entries(s.skipped.by_kind).map(([kind, n]) => `${n} ${kind}`).join(', ');
    console.log(`filter: skipped ${s.skipped.files} file(s): ${reasons} (see ${relative(ctx.root, outDir)}/bad_files.jsonl)`);
  }
  const g = s.split_groups;
  console.log(`filter: split by capture (split.group_by ${g.group_by === 'file' ? '"file": one image per group' : `/${g.group_by}/`}): ${g.groups} groups, ${g.matched_groups} of them views of one capture (${g.grouped_images} images); images per group ${g.images_per_group.min}-${g.images_per_group.max}, mean ${g.images_per_group.mean}`);
  if (dataset.labels.part_only) console.log('filter: no image has a known color: the model will be part-only (color reported as n/a)');
  console.log(`filter: capture plan: ${plan.total_missing} real images still to photograph (${plan.complete_parts}/${plan.parts.length} parts complete)`);
  // A failed stage gets its outs put back, so the plan the way-out points to is written beside them.
  const failedPlan = join(dirname(outDir), 'capture_plan.txt');
  const shownPlan = relative(ctx.root, failedPlan);
  rmSync(failedPlan, { force: true });
  if (dataset.violations.some((v) => v.ways_out)) writeFileSync(failedPlan, formatCapturePlan(plan));
  for (const v of dataset.violations) {
    console.error(`filter: rule broken: ${v.message}`);
    for (const way of v.ways_out ?? []) console.error(`  - ${way}`);
  }
  if (existsSync(failedPlan)) console.error(`filter: what each part has and needs: ${shownPlan}`);
  return dataset.violations.length > 0 ? 1 : 0;
}

process.exitCode = await main();
