// Runs the selected stages in DAG order (up to `jobs` at once): each stale stage gets its
// outs guarded, runs as a child process, and on success its fingerprint goes to
// pipeline.lock and its gates are checked. The first failure or missed gate stops new
// stages from starting; the ones already running finish.
import { join } from 'node:path';
import { describeFailure, type RunEvent, type StageFailure, type StageResult } from './event.ts';
import { fingerprintEnv, stageOuts } from './fingerprint.ts';
import { checkStageGates, type GateResult } from './gates.ts';
import { readLock, writeLock, type LockData } from './lock-file.ts';
import { readMetrics } from './metrics.ts';
import { guardOuts } from './outs-guard.ts';
import { PathHasher } from './path-hasher.ts';
import type { StageDecl } from './pipeline-config.ts';
import type { Project } from './project.ts';
import { runStageProcess } from './stage-process.ts';
import { assessStage } from './status.ts';

export interface RunOptions {
  stages: StageDecl[];
  force?: boolean;
  jobs?: number;
  signal?: AbortSignal;
  onEvent: (e: RunEvent) => void;
}

export interface RunSummary {
  results: StageResult[];
  gates: GateResult[];
  /** 0 done, 1 a stage failed, 3 a gate failed, 130 interrupted. */
  exitCode: number;
}

/** Runs `opts.stages`; the caller holds the run lock. */
export async function runStages(project: Project, opts: RunOptions): Promise<RunSummary> {
  const jobs = Math.max(1, opts.jobs ?? 1);
  const selected = new Set(opts.stages.map((s) => s.name));
  const results = new Map<string, StageResult>();
  const gates: GateResult[] = [];
  const hasher = new PathHasher(project.root, project.cache, (done, total) => opts.onEvent({ type: 'hashing', done, total }));
  let lock: LockData = readLock(project.lockFile);
  let stopped = false;
  const running = new Map<string, Promise<void>>();

  const ready = (s: StageDecl): boolean =>
    [...project.graph.upstream.get(s.name)!].every((up) => {
      if (!selected.has(up)) return true;
      const r = results.get(up);
      return r !== undefined && (r.kind === 'ran' || r.kind === 'fresh');
    });

  const runOne = async (stage: StageDecl): Promise<void> => {
    const started = performance.now();
    const done = (r: Omit<StageResult, 'stage' | 'durationMs'>): void => {
      const result: StageResult = { stage: stage.name, durationMs: performance.now() - started, ...r };
      results.set(stage.name, result);
      opts.onEvent({ type: 'stage-done', result });
      if (r.kind === 'failed') stopped = true;
    };
    const checkGates = (): void => {
      const g = checkStageGates(project.root, stage);
      if (g.length === 0) return;
      gates.push(...g);
      opts.onEvent({ type: 'gates', stage: stage.name, results: g });
      if (g.some((r) => r.status === 'fail')) stopped = true;
    };

    const { freshness, inputs } = await assessStage(project, lock, stage, hasher, opts.force);
    if (freshness.fresh) {
      opts.onEvent({ type: 'stage-fresh', stage: stage.name });
      done({ kind: 'fresh' });
      checkGates();
      return;
    }
    const reason = freshness.reason;
    const missingDep = Object.entries(inputs.deps).find(([, h]) => h === null);
    if (missingDep) {
      done({ kind: 'failed', reason, failure: { reason: 'dep-missing', path: missingDep[0] } });
      return;
    }
    opts.onEvent({ type: 'stage-start', stage: stage.name, reason });
    const guarded = stage.outs.filter((o) => !o.persist).map((o) => o.path);
    if (stage.metrics) guarded.push(stage.metrics.path);
    const guard = guardOuts(project.root, project.asideDir, stage.name, guarded);
    const outcome = await runStageProcess({
      root: project.root,
      stage,
      env: { ...stageEnv(project, stage, inputs.params), ...fingerprintEnv(inputs, reason.kind === 'forced') },
      logFile: join(project.logsDir, `${stage.name}.log`),
      write: (stream, text) => opts.onEvent({ type: 'stage-output', stage: stage.name, stream, text }),
      signal: opts.signal,
    });
    let failure: StageFailure | undefined;
    if (outcome.kind === 'aborted') failure = { reason: 'interrupted' };
    else if (outcome.kind === 'signalled') failure = { reason: 'killed', signal: outcome.signal };
    else if (outcome.kind === 'spawn-failed') failure = { reason: 'spawn-failed', message: outcome.message };
    else if (outcome.code !== 0) failure = { reason: 'exit-non-zero', code: outcome.code };
    let outs: Awaited<ReturnType<typeof stageOuts>> | undefined;
    if (!failure) {
      outs = await stageOuts(stage, hasher);
      const missing = Object.entries(outs).filter(([, h]) => h === null).map(([p]) => p);
      if (missing.length > 0) failure = { reason: 'outs-missing', paths: missing };
    }
    if (failure || !outs) {
      guard.restore();
      done({ kind: 'failed', reason, failure });
      return;
    }
    const metrics = stage.metrics ? readMetrics(project.root, stage.metrics.path) : undefined;
    // Re-read: with --jobs N another stage may have written the lock meanwhile.
    lock = readLock(project.lockFile);
    lock.stages[stage.name] = { ...inputs, outs, ...(metrics?.kind === 'ok' ? { metrics: metrics.numbers } : {}) };
    writeLock(project.lockFile, lock);
    guard.commit();
    done({ kind: 'ran', reason });
    checkGates();
  };

  const pending = [...opts.stages];
  while (pending.length > 0 || running.size > 0) {
    if (opts.signal?.aborted) stopped = true;
    while (!stopped && running.size < jobs) {
      const idx = pending.findIndex(ready);
      if (idx < 0) break;
      const stage = pending.splice(idx, 1)[0]!;
      running.set(stage.name, runOne(stage).finally(() => running.delete(stage.name)));
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  project.cache.save();

  const ordered = opts.stages.map(
    (s) => results.get(s.name) ?? { stage: s.name, kind: 'not-run' as const, durationMs: 0 },
  );
  const failed = ordered.some((r) => r.kind === 'failed');
  const interrupted = ordered.some((r) => r.failure?.reason === 'interrupted') || opts.signal?.aborted === true;
  const exitCode = interrupted ? 130 : failed ? 1 : gates.some((g) => g.status === 'fail') ? 3 : 0;
  return { results: ordered, gates, exitCode };
}

/** The PIPELINE_* variables of docs/contracts.md. */
export function stageEnv(project: Project, stage: StageDecl, params: Record<string, Record<string, unknown>>): Record<string, string> {
  // The lock stores each listed key flat; the stage sees them nested as in the file.
  const nested: Record<string, Record<string, unknown>> = {};
  for (const [file, keys] of Object.entries(params)) {
    const doc: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(keys)) {
      if (value === null) continue;
      const parts = key.split('.');
      let target = doc;
      for (const p of parts.slice(0, -1)) target = (target[p] ??= {}) as Record<string, unknown>;
      target[parts[parts.length - 1]!] = value;
    }
    nested[file] = doc;
  }
  return {
    PIPELINE_STAGE: stage.name,
    PIPELINE_ROOT: project.root,
    PIPELINE_PARAMS: JSON.stringify(nested),
    PIPELINE_DEPS: JSON.stringify(stage.deps.map((d) => d.path)),
    PIPELINE_OUTS: JSON.stringify(stage.outs.map((o) => o.path)),
    PIPELINE_METRICS: stage.metrics?.path ?? '',
  };
}

export { describeFailure };
