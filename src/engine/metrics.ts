// Reads the metrics files stages write, and compares them with an earlier git revision
// (the file committed there, or the numbers recorded in pipeline.lock there).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Result } from './diagnostic.ts';
import { lockAtRevision, resolveRevision, showAtRevision } from './git-revision.ts';
import type { Pipeline } from './pipeline-config.ts';

export type MetricsRead =
  | { kind: 'ok'; values: Record<string, unknown>; numbers: Record<string, number> }
  | { kind: 'missing' }
  | { kind: 'invalid'; message: string };

/** Top-level numbers are what gates read; nested objects are free-form detail. */
export function flatNumbers(values: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(values)) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

export function parseMetrics(text: string): MetricsRead {
  try {
    const values = JSON.parse(text) as unknown;
    if (values === null || typeof values !== 'object' || Array.isArray(values)) {
      return { kind: 'invalid', message: 'not a JSON object' };
    }
    const obj = values as Record<string, unknown>;
    return { kind: 'ok', values: obj, numbers: flatNumbers(obj) };
  } catch (err) {
    return { kind: 'invalid', message: (err as Error).message };
  }
}

export function readMetrics(root: string, path: string): MetricsRead {
  let text: string;
  try {
    text = readFileSync(join(root, path), 'utf8');
  } catch {
    return { kind: 'missing' };
  }
  return parseMetrics(text);
}

export interface MetricDiffRow {
  stage: string;
  metric: string;
  old: number | undefined;
  new: number | undefined;
}

export interface MetricsDiff {
  /** The revision as the user named it. */
  rev: string;
  rows: MetricDiffRow[];
  /** Per stage, where the old numbers came from ("HEAD:pipeline.lock", "nothing at HEAD"). */
  sources: Record<string, string>;
}

/**
 * Flat numeric metrics now vs at `rev`: from the metrics file committed at `rev`, else from
 * that revision's pipeline.lock (metrics files are usually git-ignored outputs). A revision
 * git does not know is an error, not an empty diff.
 */
export function diffMetrics(pipeline: Pipeline, rev: string): Result<MetricsDiff, string> {
  const commit = resolveRevision(pipeline.root, rev);
  if (!commit.ok) return commit;
  const oldLock = lockAtRevision(pipeline.root, commit.value);
  const rows: MetricDiffRow[] = [];
  const sources: Record<string, string> = {};
  for (const stage of pipeline.stages) {
    if (!stage.metrics) continue;
    const now = readMetrics(pipeline.root, stage.metrics.path);
    const current = now.kind === 'ok' ? now.numbers : {};
    const committed = showAtRevision(pipeline.root, commit.value, stage.metrics.path);
    let old: Record<string, number> = {};
    if (committed !== undefined) {
      const parsed = parseMetrics(committed);
      if (parsed.kind === 'ok') old = parsed.numbers;
      sources[stage.name] = `${rev}:${stage.metrics.path}`;
    } else if (oldLock?.stages[stage.name]?.metrics) {
      old = oldLock.stages[stage.name]!.metrics!;
      sources[stage.name] = `${rev}:pipeline.lock`;
    } else {
      sources[stage.name] = `nothing at ${rev}`;
    }
    for (const metric of [...new Set([...Object.keys(old), ...Object.keys(current)])].sort()) {
      rows.push({ stage: stage.name, metric, old: old[metric], new: current[metric] });
    }
  }
  return { ok: true, value: { rev, rows, sources } };
}
