// `pipeline watch [--until S]`: for the operator photographing new parts. Watches what the
// selected stages read (never what they write), reruns what became stale, and after each
// round shows what ran, the capture plan's remaining gap, bad input files and the gates.
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Output } from '../engine/console-reporter.ts';
import { formatDiagnostic } from '../engine/diagnostic.ts';
import { EngineStateError } from '../engine/engine-error.ts';
import { codeFiles } from '../engine/code-deps.ts';
import { checkStageGates, formatGateTable } from '../engine/gates.ts';
import { selectStages } from '../engine/graph.ts';
import { writtenPaths } from '../engine/pipeline-config.ts';
import { preflight } from '../engine/preflight.ts';
import { openProject, type Project } from '../engine/project.ts';
import { acquireRunLock } from '../engine/run-lock.ts';
import { Watcher } from '../engine/watcher.ts';
import type { CliOptions } from './options.ts';
import { EXIT, runLocked } from './run-command.ts';

/** Shown after each round when present (written by the filter stage). */
const CAPTURE_PLAN = 'artifacts/dataset/capture_plan.txt';
const BAD_FILES = 'artifacts/dataset/bad_files.jsonl';

/** Sources of the selected stages: deps no stage writes, param files, code, pipeline.yaml. */
export function watchedPaths(project: Project, stageNames: string[]): string[] {
  const outs = project.pipeline.stages.flatMap((s) => writtenPaths(s).map((o) => o.path));
  const paths = new Set<string>([relative(project.root, project.pipeline.file)]);
  for (const stage of project.pipeline.stages.filter((s) => stageNames.includes(s.name))) {
    // A dep under an out is made by a stage; a dep holding an out (data/ over data/synthetic)
    // is watched, and the ignore rule drops events under the out.
    for (const d of stage.deps) if (!outs.some((o) => d.path === o || d.path.startsWith(`${o}/`))) paths.add(d.path);
    for (const p of stage.params) paths.add(p.file);
    if (stage.run) for (const c of codeFiles(project.root, stage.run)) paths.add(c);
  }
  return [...paths].sort();
}

/** Outputs, engine state and VCS folders never trigger a run. */
export function ignoredBy(project: Project): (abs: string) => boolean {
  const outs = project.pipeline.stages.flatMap((s) => writtenPaths(s).map((o) => o.path));
  return (abs) => {
    const rel = relative(project.root, abs).replace(/\\/g, '/');
    if (rel === 'pipeline.lock' || rel.startsWith('..')) return true;
    if (/^(\.pipeline|\.git|node_modules)(\/|$)/.test(rel)) return true;
    return outs.some((o) => rel === o || rel.startsWith(`${o}/`));
  };
}

export async function watchCommand(initial: Project, opts: CliOptions, output: Output): Promise<number> {
  const until = opts.until ?? (initial.pipeline.stages.some((s) => s.name === 'evaluate') ? 'evaluate' : undefined);
  const selected = selectStages(initial.graph, { until });
  if (!selected.ok) {
    output.err(`error: ${selected.error}\n`);
    return EXIT.usage;
  }
  const names = selected.value.map((s) => s.name);
  const paths = watchedPaths(initial, names);
  let round = 0;

  const runRound = async (signal: AbortSignal, changed: string[]): Promise<void> => {
    round++;
    output.out(`\nwatch: round ${round}${changed.length > 0 ? ` after ${changed.length} change(s), e.g. ${relative(initial.root, changed[0]!)}` : ''}\n`);
    const project = openProject(opts.file);
    if (!project.ok) {
      for (const d of project.error) output.err(`${formatDiagnostic(d)}\n`);
      output.out(`watch: round ${round} done (exit 2, bad config); waiting for changes\n`);
      return;
    }
    // The same up-front check as `run`; its warnings once, not every round.
    const checked = preflight(project.value.pipeline, project.value.graph.order.filter((s) => names.includes(s.name)));
    for (const d of [...(round === 1 ? checked.warnings : []), ...checked.errors]) output.err(`${formatDiagnostic(d)}\n`);
    if (checked.errors.length > 0) {
      output.out(`watch: round ${round} done (exit 2, bad config); waiting for changes\n`);
      return;
    }
    let lock: ReturnType<typeof acquireRunLock>;
    try {
      lock = acquireRunLock(project.value.runLockFile);
    } catch (err) {
      if (!(err instanceof EngineStateError)) throw err;
      output.err(err.format());
      output.out(`watch: round ${round} done (exit 2, ${err.message}); waiting for changes\n`);
      return;
    }
    if (!lock.ok) {
      output.err(`watch: another pipeline run (pid ${lock.holderPid}) holds the lock; will retry on the next change\n`);
      output.out(`watch: round ${round} done (exit 4, locked); waiting for changes\n`);
      return;
    }
    let exitCode: number;
    // The run prints each gated stage's table as it is decided; the screen adds only the others.
    const gatesShown = new Set<string>();
    try {
      // Stages may continue from their last outputs in watch (train: training.warm_start: watch);
      // an explicit BRICKFLOW_WARM_START in the environment wins, --no-warm-start turns it off.
      const env = { BRICKFLOW_WARM_START: opts.noWarmStart ? '0' : (process.env['BRICKFLOW_WARM_START'] ?? '1') };
      const summary = await runLocked(project.value, names, { force: false, jobs: opts.jobs, env }, output, signal, (e) => {
        if (e.type === 'gates') gatesShown.add(e.stage);
      });
      exitCode = summary.exitCode;
      if (summary.stateError) {
        output.out(`watch: round ${round} done (exit ${exitCode}, ${summary.stateError.message}); waiting for changes\n`);
        return;
      }
    } finally {
      lock.release();
    }
    showScreen(project.value, names.filter((n) => !gatesShown.has(n)), output);
    output.out(`watch: round ${round} done (exit ${exitCode}); waiting for changes\n`);
  };

  const watcher = new Watcher({
    paths: paths.map((p) => join(initial.root, p)),
    ignore: ignoredBy(initial),
    quietMs: opts.quietMs,
    stabilityMs: opts.quietMs,
    cancelRunning: opts.cancelRunning,
    run: runRound,
    onRunError: (err) => {
      output.err(`watch: round ${round} failed: ${err instanceof EngineStateError ? err.format() : err instanceof Error ? `${err.message}\n` : `${String(err)}\n`}`);
      output.out(`watch: round ${round} done (failed); waiting for changes\n`);
    },
    onState: (from, to, why) => {
      if (to === 'queued' && from === 'running') output.out(`watch: ${why}; one more round will follow\n`);
    },
  });
  output.out(`watch: ${names.join(' -> ')}; watching ${paths.length} path(s): ${paths.slice(0, 6).join(', ')}${paths.length > 6 ? ', ...' : ''}\n`);
  output.out('watch: press Ctrl-C to stop\n');

  const stopped = new Promise<void>((resolve) => {
    const onSignal = (): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      output.out('\nwatch: stopping\n');
      void watcher.stop().then(resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await watcher.start();
  await stopped;
  output.out('watch: stopped\n');
  return EXIT.ok;
}

/** What the operator looks at while capturing: the gap to the plan, bad files, the gates of `names`. */
function showScreen(project: Project, names: string[], output: Output): void {
  const plan = join(project.root, CAPTURE_PLAN);
  if (existsSync(plan)) output.out(`\ncapture plan (${CAPTURE_PLAN}):\n${readFileSync(plan, 'utf8').trimEnd()}\n`);
  const bad = join(project.root, BAD_FILES);
  if (existsSync(bad)) {
    const lines = readFileSync(bad, 'utf8').split('\n').filter(Boolean);
    if (lines.length > 0) {
      output.out(`\n${lines.length} input file(s) skipped as bad (${BAD_FILES}):\n`);
      for (const l of lines.slice(-10)) {
        try {
          const { path, reason } = JSON.parse(l) as { path: string; reason: string };
          output.out(`  ${path}: ${reason}\n`);
        } catch {
          output.out(`  ${l}\n`);
        }
      }
    }
  }
  const gates = project.graph.order.filter((s) => names.includes(s.name)).flatMap((s) => checkStageGates(project.root, s));
  if (gates.length > 0) output.out(`\ngates:\n${formatGateTable(gates)}\n`);
}
