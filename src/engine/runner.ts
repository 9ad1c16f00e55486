// Runs the selected stages in DAG order (up to `jobs` at once): each stale stage gets its
// outs guarded, runs as a child process, and on success its fingerprint goes to
// pipeline.lock and its gates are checked. The first failure or missed gate stops new
// stages from starting; the ones already running finish.
//
// Gates are a barrier at any `jobs`: a stage starts only once every stage upstream of it
// has finished and had its gates decided. Gated upstream stages outside the selection
// (`--only`) are checked from their metrics as they are now. With `ignoreGates` a missed
// gate does not stop the run; a stage that runs below one records it in pipeline.lock.
import { statfsSync } from 'node:fs';
import { join } from 'node:path';
import { EngineStateError } from './engine-error.ts';
import { describeFailure, type RunEvent, type StageFailure, type StageResult } from './event.ts';
import { fingerprintEnv, inputsFingerprint, stageInputs, stageOuts, type StageInputs } from './fingerprint.ts';
import { checkStageGates, type GateResult } from './gates.ts';
import { ancestors } from './graph.ts';
import { readLock, writeLock, type IgnoredGate, type LockData } from './lock-file.ts';
import { readMetrics } from './metrics.ts';
import { guardOuts } from './outs-guard.ts';
import { PathHasher } from './path-hasher.ts';
import { declaredPaths, type StageDecl } from './pipeline-config.ts';
import type { Project } from './project.ts';
import type { Hash } from './stat-cache.ts';
import { stageDeclEnv } from './stage-context.ts';
import { runStage } from './stage-process.ts';
import { assessStage } from './status.ts';
import type { RunCache } from './remote/run-cache.ts';

export interface RunOptions {
  stages: StageDecl[];
  force?: boolean;
  jobs?: number;
  signal?: AbortSignal;
  /** `run --executor local`: every stage runs here, whatever its `executor:` says. */
  executor?: 'local';
  /** Run stages below a missed gate too (recorded in the lock); the exit code stays 3. */
  ignoreGates?: boolean;
  /** Extra environment for every stage of this run (watch: BRICKFLOW_WARM_START, docs/contracts.md); a stage's `env:` values are read from it over process.env. */
  env?: Record<string, string>;
  /**
   * The run cache (docs/remote-cache.md): a stale stage whose inputs it holds is restored
   * instead of run, and a stage that ran is stored in it. Absent: every stale stage runs.
   */
  runCache?: RunCache;
  onEvent: (e: RunEvent) => void;
}

export interface RunSummary {
  results: StageResult[];
  gates: GateResult[];
  /** The engine could not keep its state (disk full, ...): the run stopped there. */
  stateError?: EngineStateError;
  /** 0 done, 1 a stage failed, 2 bad engine state, 3 a gate failed, 130 interrupted. */
  exitCode: number;
}

/** Runs `opts.stages`; the caller holds the run lock. */
export async function runStages(project: Project, opts: RunOptions): Promise<RunSummary> {
  const jobs = Math.max(1, opts.jobs ?? 1);
  const selected = new Set(opts.stages.map((s) => s.name));
  const results = new Map<string, StageResult>();
  const gates: GateResult[] = [];
  const hasher = new PathHasher(project.root, project.cache, opts.onEvent);
  let lock: LockData = readLock(project.lockFile);
  let stopped = false;
  let stateError: EngineStateError | undefined;
  const running = new Map<string, Promise<void>>();
  /** Stages whose gates have been checked (a gated stage's downstream waits for this). */
  const gatesDecided = new Set<string>();
  const byName = new Map(project.pipeline.stages.map((s) => [s.name, s]));
  const isGated = (name: string): boolean => (byName.get(name)?.gates.length ?? 0) > 0;
  const missedGates = (g: GateResult[]): boolean => g.some((r) => r.status === 'fail');
  const decideGates = (results: GateResult[], stage: string): void => {
    gatesDecided.add(stage);
    if (results.length === 0) return;
    gates.push(...results);
    opts.onEvent({ type: 'gates', stage, results });
    if (missedGates(results) && !opts.ignoreGates) stopped = true;
  };

  // Gated stages upstream of the selection but not in it: decided now, from their metrics.
  const outside = new Set(opts.stages.flatMap((s) => [...ancestors(project.graph, s.name)]).filter((n) => !selected.has(n) && isGated(n)));
  for (const stage of project.graph.order) if (outside.has(stage.name)) decideGates(checkStageGates(project.root, stage), stage.name);

  const ready = (s: StageDecl): boolean =>
    [...project.graph.upstream.get(s.name)!].every((up) => {
      if (!selected.has(up)) return true;
      const r = results.get(up);
      const finished = r !== undefined && (r.kind === 'ran' || r.kind === 'restored' || r.kind === 'fresh');
      return finished && (!isGated(up) || gatesDecided.has(up));
    });
  /** Missed gates of stages upstream of `stage`: only seen here under ignoreGates. */
  const missedUpstream = (stage: StageDecl): GateResult[] => {
    const ups = ancestors(project.graph, stage.name);
    return gates.filter((g) => g.status === 'fail' && ups.has(g.stage));
  };

  const runOne = async (stage: StageDecl): Promise<void> => {
    const started = performance.now();
    const done = (r: Omit<StageResult, 'stage' | 'durationMs'>): void => {
      const result: StageResult = { stage: stage.name, durationMs: performance.now() - started, ...r };
      results.set(stage.name, result);
      opts.onEvent({ type: 'stage-done', result });
      if (r.kind === 'failed') stopped = true;
    };
    const checkGates = (): void => decideGates(checkStageGates(project.root, stage), stage.name);

    const { freshness, inputs } = await assessStage(project, lock, stage, hasher, opts.force, { ...process.env, ...opts.env });
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
    const ignored = missedUpstream(stage);
    if (ignored.length > 0) opts.onEvent({ type: 'gates-ignored', stage: stage.name, missed: ignored });
    /** Records the stage in pipeline.lock with these outs; false (and the stage failed) when the lock cannot be written. */
    const record = (outs: Record<string, Hash | null>, guard: { restore(): void }): boolean => {
      const metrics = stage.metrics ? readMetrics(project.root, stage.metrics.path) : undefined;
      try {
        // Re-read: with --jobs N another stage may have written the lock meanwhile.
        lock = readLock(project.lockFile);
        lock.stages[stage.name] = {
          ...inputs,
          outs,
          ...(metrics?.kind === 'ok' ? { metrics: metrics.numbers } : {}),
          ...(ignored.length > 0 ? { ignoredGates: ignored.map(ignoredGate) } : {}),
        };
        writeLock(project.lockFile, lock);
        return true;
      } catch (err) {
        // Not recorded, so not done: the previous outs go back with the lock that names them.
        guard.restore();
        failOnState(err);
        return false;
      }
    };
    /** The engine could not write its state for this stage: it failed, the run stops. */
    const failOnState = (err: unknown): void => {
      if (!(err instanceof EngineStateError)) throw err;
      stateError ??= err;
      done({ kind: 'failed', reason, failure: { reason: 'engine-state', message: err.message } });
    };
    const cache = stage.cache && reason.kind !== 'forced' ? opts.runCache : undefined;
    const fingerprint = inputsFingerprint(inputs);
    const restored = await cache?.tryRestore(stage, fingerprint);
    if (restored) {
      if (!record(restored.outs, restored.guard)) return;
      restored.guard.commit();
      opts.onEvent({ type: 'stage-restored', stage: stage.name, source: restored.source, reason });
      done({ kind: 'restored', reason, source: restored.source });
      checkGates();
      return;
    }
    opts.onEvent({ type: 'stage-start', stage: stage.name, reason });
    const guarded = stage.outs.filter((o) => !o.persist).map((o) => o.path);
    if (stage.metrics) guarded.push(stage.metrics.path);
    let guard: ReturnType<typeof guardOuts>;
    try {
      guard = guardOuts(project.root, project.asideDir, stage.name, guarded);
    } catch (err) {
      return failOnState(err);
    }
    const outcome = await runStage({
      root: project.root,
      stage,
      env: { ...opts.env, ...stageEnv(project, stage, inputs.params), ...fingerprintEnv(inputs, reason.kind === 'forced') },
      logFile: join(project.logsDir, `${stage.name}.log`),
      write: (stream, text) => opts.onEvent({ type: 'stage-output', stage: stage.name, stream, text }),
      signal: opts.signal,
      local: opts.executor === 'local',
      onSpawn: (pgid) => guard.recordProcessGroup(pgid),
      onSlurmJob: (job) => guard.recordSlurmJob(job),
    });
    let failure: StageFailure | undefined;
    if (outcome.kind === 'aborted') failure = { reason: 'interrupted' };
    else if (outcome.kind === 'signalled') failure = { reason: 'killed', signal: outcome.signal };
    else if (outcome.kind === 'spawn-failed') failure = { reason: 'spawn-failed', message: outcome.message };
    else if (outcome.kind === 'slurm-ended') failure = outcome.failure;
    else if (outcome.code !== 0) failure = { reason: 'exit-non-zero', code: outcome.code, ...(diskIsFull(project.root, outcome.output) ? { diskFull: true } : {}) };
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
    if (!record(outs, guard)) return;
    guard.commit();
    // With --jobs N stages store in parallel; a failure to cache never fails the stage.
    if (stage.cache && opts.runCache) {
      // Inputs edited while the stage ran (watch's inbox) make outs no fingerprint describes: not cached.
      const after = await stageInputs(project.root, stage, hasher, { ...process.env, ...opts.env });
      if (inputsFingerprint(after) === inputsFingerprint(inputs)) await storeInCache(opts.runCache, stage, inputs, outs, opts.onEvent);
    }
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
      const run = runOne(stage).catch((err: unknown) => {
        // Bad state met outside the places that expect it: stop starting stages, report it.
        if (!(err instanceof EngineStateError)) throw err;
        stateError ??= err;
        stopped = true;
        results.set(stage.name, { stage: stage.name, kind: 'failed', failure: { reason: 'engine-state', message: err.message }, durationMs: 0 });
      });
      running.set(stage.name, run.finally(() => running.delete(stage.name)));
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  try {
    project.cache.forgetUndeclared(declaredPaths(project.pipeline)); // folders renamed or dropped in pipeline.yaml
    project.cache.save();
  } catch (err) {
    if (!(err instanceof EngineStateError)) throw err;
    stateError ??= err; // only a cache: the next run re-hashes what it lost
  }

  const ordered = opts.stages.map(
    (s) => results.get(s.name) ?? { stage: s.name, kind: 'not-run' as const, durationMs: 0 },
  );
  // A stage that exits 3 stopped on a gate of its own (deploy's latency gate, checked on the
  // device before it switches): like a missed gate, the run exits 3 (docs/contracts.md).
  const ownGate = (r: StageResult): boolean => r.failure?.reason === 'exit-non-zero' && r.failure.code === 3;
  const failed = ordered.some((r) => r.kind === 'failed' && !ownGate(r));
  const interrupted = ordered.some((r) => r.failure?.reason === 'interrupted') || opts.signal?.aborted === true;
  const gateMissed = gates.some((g) => g.status === 'fail') || ordered.some(ownGate);
  const exitCode = interrupted ? 130 : stateError ? 2 : failed ? 1 : gateMissed ? 3 : 0;
  return { results: ordered, gates, exitCode, ...(stateError ? { stateError } : {}) };
}

/** Stores a stage that ran in the local run cache; a problem is a warning (the stage did succeed). */
async function storeInCache(cache: RunCache, stage: StageDecl, inputs: StageInputs, outs: Record<string, Hash | null>, onEvent: (e: RunEvent) => void): Promise<void> {
  try {
    await cache.store(stage, inputsFingerprint(inputs), outs);
  } catch (err) {
    onEvent({ type: 'warning', message: `stage ${stage.name}: not stored in the run cache: ${(err as Error).message}` });
  }
}

/** A stage that failed on a full disk says so: its output names ENOSPC, or nothing is free. */
function diskIsFull(root: string, output: string): boolean {
  if (/ENOSPC|No space left on device/.test(output)) return true;
  try {
    return statfsSync(root, { bigint: true }).bavail === 0n;
  } catch {
    return false;
  }
}

function ignoredGate(g: GateResult): IgnoredGate {
  return { stage: g.stage, metric: g.metric, target: g.target, value: g.value ?? null };
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
    ...stageDeclEnv(stage),
  };
}

export { describeFailure };
