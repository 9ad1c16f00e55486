// The read-only commands: status, dag, gates, metrics, report.
import { dirname, resolve } from 'node:path';
import { checkStageGates, formatGateTable, type GateResult } from '../engine/gates.ts';
import { lockAtRevision } from '../engine/git-revision.ts';
import { renderDag } from '../engine/graph.ts';
import { readLock } from '../engine/lock-file.ts';
import { diffMetrics, readMetrics } from '../engine/metrics.ts';
import type { Project } from '../engine/project.ts';
import { runningSlurmJobs } from '../engine/slurm-executor.ts';
import { describeReason } from '../engine/staleness.ts';
import { assessStages, describeStatus, markCached, statusNotes } from '../engine/status.ts';
import { openRunCache } from '../engine/remote/run-cache.ts';
import { atomicWrite } from '../engine/atomic-write.ts';
import { formatNumber, formatTable } from '../engine/table.ts';
import { consoleReporter, type Output } from '../engine/console-reporter.ts';
import { PathHasher } from '../engine/path-hasher.ts';
import { publishGates } from './ci.ts';
import { formatGatesJunit } from './formats/gates-junit.ts';
import { gatesMarkdown, imagesMarkdown, joinMarkdown, markdownTable, metricsDiffMarkdown, signedChange } from './formats/markdown.ts';
import { prReportMarkdown, rebuiltSince } from './formats/pr-report.ts';
import { imageLinks } from './formats/stage-images.ts';
import { outputFormat, type CliOptions } from './options.ts';
import { EXIT } from './run-command.ts';

export async function statusCommand(project: Project, opts: CliOptions, output: Output): Promise<number> {
  // Progress of a long (cold) hash goes to stderr, so --json output stays clean.
  const progress = consoleReporter({ ...output, out: output.err }, project.root, project.logsDir);
  const hasher = new PathHasher(project.root, project.cache, progress);
  const lock = readLock(project.lockFile);
  const statuses = await assessStages(project, lock, project.graph.order, { hasher });
  const cache = openRunCache(project, opts, progress);
  if (!cache.ok) {
    output.err(`${cache.error}\n`);
    return EXIT.usage;
  }
  await markCached(statuses, cache.value);
  await cache.value.close();
  const notes = { ...statusNotes(project, lock), slurmJobs: await runningSlurmJobs(project.asideDir) };
  if (opts.json) {
    const json = statuses.map((s) => ({
      ...(s.freshness.fresh
        ? { stage: s.stage, status: 'fresh' }
        : { stage: s.stage, status: 'stale', reason: s.freshness.reason, message: describeReason(s.freshness.reason) }),
      ...(notes.outsAside.includes(s.stage) ? { outsAside: notes.runInProgress !== undefined ? 'running' : 'interrupted' } : {}),
      ...(notes.ignoredGates[s.stage] ? { ignoredGates: notes.ignoredGates[s.stage] } : {}),
      ...(notes.slurmJobs.has(s.stage) ? { slurmJob: notes.slurmJobs.get(s.stage) } : {}),
      ...(s.cachedIn ? { restoredFrom: s.cachedIn } : {}),
    }));
    output.out(`${JSON.stringify(json, null, 2)}\n`);
    return EXIT.ok;
  }
  if (notes.runInProgress !== undefined) output.out(`a run is in progress (pid ${notes.runInProgress} holds the run lock)\n`);
  output.out(`${formatTable(['stage', 'status'], statuses.map((s) => [s.stage, describeStatus(s, notes)]))}\n`);
  return EXIT.ok;
}

export function dagCommand(project: Project, opts: CliOptions, output: Output): number {
  output.out(`${renderDag(project.graph, opts.mermaid)}\n`);
  return EXIT.ok;
}

/**
 * Every gate of the pipeline against the metrics files as they are now; a stage with no lock
 * entry and no metrics file has its gates "not run" rather than failed.
 */
function currentGates(project: Project): GateResult[] {
  const lock = readLock(project.lockFile);
  return project.graph.order.flatMap((s) => checkStageGates(project.root, s, lock.stages[s.name] === undefined));
}

export function gatesCommand(project: Project, opts: CliOptions, output: Output, env: NodeJS.ProcessEnv = process.env): number {
  const format = outputFormat(opts, ['text', 'json', 'junit', 'markdown'], 'gates');
  if (!format.ok) return usageError(output, format.error);
  const results = currentGates(project);
  const failed = results.some((r) => r.status === 'fail');
  switch (format.value) {
    case 'json':
      output.out(`${JSON.stringify(results, null, 2)}\n`);
      break;
    case 'junit':
      output.out(formatGatesJunit(results, project.pipeline, process.cwd()));
      break;
    case 'markdown':
      output.out(joinMarkdown([gatesMarkdown(results), imagesMarkdown(imageLinks(project.pipeline, process.cwd()))]));
      break;
    case 'text': {
      if (results.length === 0) {
        output.out('no stage declares gates\n');
        break;
      }
      const notRun = results.some((r) => r.status === 'not-run');
      output.out(`${formatGateTable(results)}\n${failed ? 'x gates failed' : notRun ? '+ no gate failed; some stages have not run' : '+ all gates pass'}\n`);
      break;
    }
  }
  // Annotations go to stderr when stdout carries a document (the runner reads both streams).
  const ciOutput = format.value === 'text' ? output : { ...output, out: output.err };
  publishGates(results, project.pipeline, { choice: opts.ci, env, cwd: process.cwd() }, ciOutput);
  return failed ? EXIT.gateFailed : EXIT.ok;
}

function usageError(output: Output, message: string): number {
  output.err(`error: ${message}\n`);
  return EXIT.usage;
}

export function metricsCommand(project: Project, opts: CliOptions, output: Output): number {
  const format = outputFormat(opts, ['text', 'json', 'markdown'], 'metrics');
  if (!format.ok) return usageError(output, format.error);
  if (opts.diff !== undefined) {
    const diff = diffMetrics(project.pipeline, opts.diff);
    if (!diff.ok) return usageError(output, `metrics --diff: ${diff.error}`);
    const { rows, sources } = diff.value;
    switch (format.value) {
      case 'json':
        output.out(`${JSON.stringify({ rev: opts.diff, sources, rows }, null, 2)}\n`);
        break;
      case 'markdown':
        output.out(joinMarkdown([metricsDiffMarkdown(diff.value, currentGates(project)), imagesMarkdown(imageLinks(project.pipeline, process.cwd()))]));
        break;
      default:
        for (const [stage, source] of Object.entries(sources)) output.out(`${stage}: compared with ${source}\n`);
        output.out(`${formatTable(['stage', 'metric', 'old', 'new', 'delta'], rows.map((r) => [r.stage, r.metric, formatNumber(r.old), formatNumber(r.new), signedChange(r.old, r.new)]))}\n`);
    }
    return EXIT.ok;
  }
  const all: Record<string, unknown> = {};
  const rows: string[][] = [];
  for (const stage of project.graph.order) {
    if (!stage.metrics) continue;
    const read = readMetrics(project.root, stage.metrics.path);
    if (read.kind === 'ok') {
      all[stage.name] = read.values;
      for (const [k, v] of Object.entries(read.numbers)) rows.push([stage.name, k, formatNumber(v)]);
      if (read.values['status'] === 'skipped') rows.push([stage.name, 'status', `skipped (${String(read.values['reason'] ?? '')})`]);
    } else {
      all[stage.name] = null;
      rows.push([stage.name, '-', read.kind === 'missing' ? `no ${stage.metrics.path} yet` : `invalid: ${read.message}`]);
    }
  }
  if (format.value === 'json') output.out(`${JSON.stringify(all, null, 2)}\n`);
  else if (format.value === 'markdown') output.out(`### Metrics\n\n${markdownTable(['stage', 'metric', 'value'], rows)}\n`);
  else output.out(`${formatTable(['stage', 'metric', 'value'], rows)}\n`);
  return EXIT.ok;
}

/** `report --base REV [--out FILE]`: the pull-request report (src/cli/formats/pr-report.ts). */
export function reportCommand(project: Project, opts: CliOptions, output: Output): number {
  const diff = diffMetrics(project.pipeline, opts.base);
  if (!diff.ok) return usageError(output, `report --base: ${diff.error}`);
  // A damaged lock throws EngineStateError, which main() turns into exit 2 with what to do.
  const now = readLock(project.lockFile);
  const outFile = opts.out === undefined ? undefined : resolve(opts.out);
  const gates = currentGates(project);
  const text = prReportMarkdown({
    rev: opts.base,
    rebuilt: rebuiltSince(project.graph.order, lockAtRevision(project.root, opts.base), now),
    gates,
    diff: diff.value,
    images: imageLinks(project.pipeline, outFile ? dirname(outFile) : process.cwd()),
  });
  if (outFile) {
    atomicWrite(outFile, text);
    output.err(`report: written to ${opts.out}\n`);
  } else {
    output.out(text);
  }
  return EXIT.ok;
}
