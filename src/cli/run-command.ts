// `pipeline run`: choose stages, explain (--dry-run) or take the run lock, recover from an
// interrupted run, run, and print the summary. Also used by `watch` for each round.
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { consoleReporter, formatSummary, type Output } from '../engine/console-reporter.ts';
import { formatDiagnostic } from '../engine/diagnostic.ts';
import { EngineStateError } from '../engine/engine-error.ts';
import type { RunEvent } from '../engine/event.ts';
import { selectStages } from '../engine/graph.ts';
import { readLock } from '../engine/lock-file.ts';
import { journaledSlurmJobs, recoverInterrupted } from '../engine/outs-guard.ts';
import { preflight } from '../engine/preflight.ts';
import { writtenPaths } from '../engine/pipeline-config.ts';
import type { Project } from '../engine/project.ts';
import { acquireRunLock, type LockAttempt } from '../engine/run-lock.ts';
import { runStages, type RunSummary } from '../engine/runner.ts';
import { activeSlurmJobIds, cancelSlurmJob, waitForSlurmJob } from '../engine/slurm-executor.ts';
import { describeReason } from '../engine/staleness.ts';
import { assessStages, markCached } from '../engine/status.ts';
import { openRunCache } from '../engine/remote/run-cache.ts';
import { publishGates } from './ci.ts';
import type { CliOptions } from './options.ts';

export const EXIT = { ok: 0, stageFailed: 1, usage: 2, gateFailed: 3, locked: 4, interrupted: 130 } as const;

export async function runCommand(project: Project, target: string | undefined, opts: CliOptions, output: Output): Promise<number> {
  if (target !== undefined && opts.until !== undefined && target !== opts.until) {
    output.err(`error: give either a STAGE or --until, not both ("${target}" and "${opts.until}")\n`);
    return EXIT.usage;
  }
  if (opts.only !== undefined && (target ?? opts.until) !== undefined) {
    output.err('error: --only cannot be combined with a STAGE or --until\n');
    return EXIT.usage;
  }
  const selection = selectStages(project.graph, { until: target ?? opts.until, only: opts.only });
  if (!selection.ok) {
    output.err(`error: ${selection.error}\n`);
    return EXIT.usage;
  }
  const stages = selection.value;
  if (opts.only !== undefined) {
    const stage = stages[0]!;
    const missing = stage.deps.filter((d) => !existsSync(join(project.root, d.path)));
    if (missing.length > 0) {
      const lines = missing.map((d) => {
        const producer = project.pipeline.stages.find((s) => writtenPaths(s).some((o) => d.path === o.path || d.path.startsWith(`${o.path}/`)));
        return `  ${d.path}${producer ? ` (made by stage "${producer.name}")` : ''}`;
      });
      output.err(`error: --only ${stage.name}: its deps are missing:\n${lines.join('\n')}\nrun them first, or use --until ${stage.name}\n`);
      return EXIT.usage;
    }
  }

  const checked = preflight(project.pipeline, stages);
  for (const w of checked.warnings) output.err(`${formatDiagnostic(w)}\n`);
  if (checked.errors.length > 0) {
    for (const e of checked.errors) output.err(`${formatDiagnostic(e)}\n`);
    return EXIT.usage;
  }

  if (opts.dryRun) {
    const statuses = await assessStages(project, readLock(project.lockFile), stages, { force: opts.force });
    const cache = openRunCache(project, opts, consoleReporter(output, project.root, project.logsDir));
    if (!cache.ok) {
      output.err(`${cache.error}\n`);
      return EXIT.usage;
    }
    await markCached(statuses, cache.value);
    await cache.value.close();
    for (const s of statuses) {
      if (s.freshness.fresh) output.out(`fresh        ${s.stage}\n`);
      else if (s.cachedIn) output.out(`would restore ${s.stage} from cache ${s.cachedIn}: ${describeReason(s.freshness.reason)}\n`);
      else output.out(`would run    ${s.stage}: ${describeReason(s.freshness.reason)}\n`);
    }
    return EXIT.ok;
  }

  const lock = takeRunLock(project, output);
  if (typeof lock === 'number') return lock;
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    output.err(`\n${sig}: stopping; the running stages' previous outs will be restored\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await runLocked(project, stages.map((s) => s.name), opts, output, controller.signal);
    publishGates(summary.gates, project.pipeline, { choice: opts.ci, env: process.env, cwd: process.cwd() }, output);
    return summary.exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    lock.release();
  }
}

/**
 * A job a killed runner left on Slurm would write into the outs about to be restored:
 * cancel it, or with --wait-for-slurm let it end on its own (so it finishes its persist
 * outs, such as checkpoints) before the outs are recovered.
 */
async function endLeftoverSlurmJobs(project: Project, wait: boolean, output: Output): Promise<void> {
  for (const { stage, job } of journaledSlurmJobs(project.asideDir)) {
    for (const jobId of await activeSlurmJobIds(job)) {
      if (wait) {
        output.err(`waiting for slurm job ${jobId} of stage ${stage} (left running by an interrupted run) to end\n`);
        await waitForSlurmJob(jobId);
      } else if (await cancelSlurmJob(jobId)) {
        output.err(`cancelled slurm job ${jobId} of stage ${stage} (left running by an interrupted run; --wait-for-slurm waits for it instead)\n`);
      }
    }
  }
}

/**
 * Takes the run lock for a command that writes outs, or says who holds it (exit 4) or why it
 * cannot be taken (exit 2) and returns that exit code. `then` ends the "held" message with
 * what to do instead.
 */
export function takeRunLock(project: Project, output: Output, then = ''): { release: () => void } | number {
  let lock: LockAttempt;
  try {
    lock = acquireRunLock(project.runLockFile);
  } catch (err) {
    if (!(err instanceof EngineStateError)) throw err;
    output.err(err.format());
    return EXIT.usage;
  }
  if (!lock.ok) {
    output.err(`error: another pipeline run (pid ${lock.holderPid}) holds the lock ${relative(process.cwd(), lock.file) || lock.file}${then}\n`);
    return EXIT.locked;
  }
  return lock;
}

/** Recovery, the run and its summary, for a caller that holds the run lock. */
export async function runLocked(
  project: Project,
  stageNames: string[],
  opts: Pick<CliOptions, 'force' | 'jobs'> & Partial<Pick<CliOptions, 'ignoreGates' | 'executor' | 'waitForSlurm' | 'remote' | 'noRemote'>> & { env?: Record<string, string> },
  output: Output,
  signal: AbortSignal,
  extraListener?: (e: RunEvent) => void,
): Promise<RunSummary> {
  const report = consoleReporter(output, project.root, project.logsDir);
  const onEvent = (e: RunEvent): void => {
    report(e);
    extraListener?.(e);
  };
  const stages = project.graph.order.filter((s) => stageNames.includes(s.name));
  const cache = openRunCache(project, opts, onEvent);
  if (!cache.ok) {
    output.err(`${cache.error}\n`);
    return { results: [], gates: [], exitCode: EXIT.usage };
  }
  let summary: RunSummary;
  try {
    await endLeftoverSlurmJobs(project, opts.waitForSlurm === true, output);
    const recovered = await recoverInterrupted(project.root, project.asideDir);
    if (recovered.stages.length > 0) onEvent({ type: 'recovered', ...recovered });
    summary = await runStages(project, { stages, force: opts.force, jobs: opts.jobs, ignoreGates: opts.ignoreGates, executor: opts.executor, env: opts.env, runCache: cache.value, signal, onEvent });
  } catch (err) {
    // Bad state found before any stage ran (a damaged pipeline.lock): nothing to summarise.
    if (!(err instanceof EngineStateError)) throw err;
    output.err(err.format());
    return { results: [], gates: [], stateError: err, exitCode: EXIT.usage };
  } finally {
    await cache.value.close();
  }
  output.out(`\n${formatSummary(summary.results)}\n`);
  if (summary.stateError) output.err(summary.stateError.format());
  if (summary.exitCode === EXIT.gateFailed) {
    const held = summary.results.some((r) => r.kind === 'not-run');
    output.err(
      opts.ignoreGates
        ? 'x gates failed: see the table above (--ignore-gates: the stages below them ran anyway)\n'
        : `x gates failed: see the table above${held ? '; the stages below them did not run (--ignore-gates runs them anyway, recorded in pipeline.lock)' : ''}\n`,
    );
  }
  return summary;
}
