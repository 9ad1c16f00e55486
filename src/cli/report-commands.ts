// The read-only commands: status, dag, gates, metrics.
import { checkStageGates, formatGateTable } from '../engine/gates.ts';
import { renderDag } from '../engine/graph.ts';
import { readLock } from '../engine/lock-file.ts';
import { diffMetrics, readMetrics, revisionExists } from '../engine/metrics.ts';
import type { Project } from '../engine/project.ts';
import { describeReason } from '../engine/staleness.ts';
import { assessStages, describeStatus, statusNotes } from '../engine/status.ts';
import { formatTable } from '../engine/table.ts';
import { consoleReporter, type Output } from '../engine/console-reporter.ts';
import { PathHasher } from '../engine/path-hasher.ts';
import type { CliOptions } from './options.ts';
import { EXIT } from './run-command.ts';

export async function statusCommand(project: Project, opts: CliOptions, output: Output): Promise<number> {
  // Progress of a long (cold) hash goes to stderr, so --json output stays clean.
  const progress = consoleReporter({ ...output, out: output.err }, project.root, project.logsDir);
  const hasher = new PathHasher(project.root, project.cache, progress);
  const lock = readLock(project.lockFile);
  const statuses = await assessStages(project, lock, project.graph.order, { hasher });
  const notes = statusNotes(project, lock);
  if (opts.json) {
    const json = statuses.map((s) => ({
      ...(s.freshness.fresh
        ? { stage: s.stage, status: 'fresh' }
        : { stage: s.stage, status: 'stale', reason: s.freshness.reason, message: describeReason(s.freshness.reason) }),
      ...(notes.outsAside.includes(s.stage) ? { outsAside: notes.runInProgress !== undefined ? 'running' : 'interrupted' } : {}),
      ...(notes.ignoredGates[s.stage] ? { ignoredGates: notes.ignoredGates[s.stage] } : {}),
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

export function gatesCommand(project: Project, opts: CliOptions, output: Output): number {
  const lock = readLock(project.lockFile);
  const results = project.graph.order.flatMap((s) => checkStageGates(project.root, s, lock.stages[s.name] === undefined));
  const failed = results.some((r) => r.status === 'fail');
  if (opts.json) output.out(`${JSON.stringify(results, null, 2)}\n`);
  else if (results.length === 0) output.out('no stage declares gates\n');
  else {
    const notRun = results.some((r) => r.status === 'not-run');
    output.out(`${formatGateTable(results)}\n${failed ? 'x gates failed' : notRun ? '+ no gate failed; some stages have not run' : '+ all gates pass'}\n`);
  }
  return failed ? EXIT.gateFailed : EXIT.ok;
}

function fmt(n: number | undefined): string {
  return n === undefined ? '-' : String(Number(n.toPrecision(6)));
}

export function metricsCommand(project: Project, opts: CliOptions, output: Output): number {
  if (opts.diff !== undefined) {
    if (!revisionExists(project.root, opts.diff)) {
      output.err(`error: metrics --diff: "${opts.diff}" is not a commit of the git repository at ${project.root} (see git log; commit pipeline.lock after a run to compare with it)\n`);
      return EXIT.usage;
    }
    const { rows, sources } = diffMetrics(project.pipeline, opts.diff);
    if (opts.json) {
      output.out(`${JSON.stringify({ rev: opts.diff, sources, rows }, null, 2)}\n`);
      return EXIT.ok;
    }
    for (const [stage, source] of Object.entries(sources)) output.out(`${stage}: compared with ${source}\n`);
    output.out(
      `${formatTable(
        ['stage', 'metric', 'old', 'new', 'delta'],
        rows.map((r) => [
          r.stage,
          r.metric,
          fmt(r.old),
          fmt(r.new),
          r.old !== undefined && r.new !== undefined ? `${r.new - r.old >= 0 ? '+' : ''}${fmt(r.new - r.old)}` : '-',
        ]),
      )}\n`,
    );
    return EXIT.ok;
  }
  const all: Record<string, unknown> = {};
  const rows: string[][] = [];
  for (const stage of project.graph.order) {
    if (!stage.metrics) continue;
    const read = readMetrics(project.root, stage.metrics.path);
    if (read.kind === 'ok') {
      all[stage.name] = read.values;
      for (const [k, v] of Object.entries(read.numbers)) rows.push([stage.name, k, fmt(v)]);
      if (read.values['status'] === 'skipped') rows.push([stage.name, 'status', `skipped (${String(read.values['reason'] ?? '')})`]);
    } else {
      all[stage.name] = null;
      rows.push([stage.name, '-', read.kind === 'missing' ? `no ${stage.metrics.path} yet` : `invalid: ${read.message}`]);
    }
  }
  output.out(opts.json ? `${JSON.stringify(all, null, 2)}\n` : `${formatTable(['stage', 'metric', 'value'], rows)}\n`);
  return EXIT.ok;
}
