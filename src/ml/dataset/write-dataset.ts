// Writes the filter's outputs (docs/contracts.md): manifest.jsonl, labels.json, summary.json, bad_files.jsonl, capture_plan.{txt,json}.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from './build-dataset.ts';
import { formatCapturePlan, type CapturePlan } from './capture-plan.ts';

export function writeDataset(outDir: string, dataset: Dataset, plan: CapturePlan): void {
  mkdirSync(outDir, { recursive: true });
  const jsonl = (rows: readonly object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length > 0 ? '\n' : '');
  writeFileSync(join(outDir, 'manifest.jsonl'), jsonl(dataset.manifest));
  writeFileSync(join(outDir, 'labels.json'), JSON.stringify(dataset.labels, null, 2) + '\n');
  writeFileSync(join(outDir, 'summary.json'), JSON.stringify({ ...dataset.summary, rule_violations: dataset.violations }, null, 2) + '\n');
  writeFileSync(join(outDir, 'bad_files.jsonl'), jsonl(dataset.bad));
  writeFileSync(join(outDir, 'capture_plan.json'), JSON.stringify(plan, null, 2) + '\n');
  writeFileSync(join(outDir, 'capture_plan.txt'), formatCapturePlan(plan));
}
