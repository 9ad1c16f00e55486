// Reads the metrics files stages write, and compares them with an earlier git revision
// (the file committed there, or the numbers recorded in pipeline.lock there).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseLock } from './lock-file.ts';
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

function gitShow(root: string, rev: string, path: string): string | undefined {
  try {
    return execFileSync('git', ['show', `${rev}:${path}`], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

export interface MetricDiffRow {
  stage: string;
  metric: string;
  old: number | undefined;
  new: number | undefined;
}

/**
 * Flat numeric metrics now vs at `rev`: from the metrics file committed at `rev`, else from
 * that revision's pipeline.lock (metrics files are usually git-ignored outputs).
 */
export function diffMetrics(pipeline: Pipeline, rev: string): { rows: MetricDiffRow[]; sources: Record<string, string> } {
  const lockText = gitShow(pipeline.root, rev, 'pipeline.lock');
  let oldLock: ReturnType<typeof parseLock> | undefined;
  try {
    oldLock = lockText ? parseLock(lockText) : undefined;
  } catch {
    oldLock = undefined;
  }
  const rows: MetricDiffRow[] = [];
  const sources: Record<string, string> = {};
  for (const stage of pipeline.stages) {
    if (!stage.metrics) continue;
    const now = readMetrics(pipeline.root, stage.metrics.path);
    const current = now.kind === 'ok' ? now.numbers : {};
    const committed = gitShow(pipeline.root, rev, stage.metrics.path);
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
  return { rows, sources };
}

/** Whether `rev` names a commit in the git repository holding `root`. */
export function revisionExists(root: string, rev: string): boolean {
  try {
    execFileSync('git', ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { cwd: root, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
