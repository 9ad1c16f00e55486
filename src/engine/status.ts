// Freshness of every stage without running anything: what `pipeline status` and
// `run --dry-run` print. A stage below a stale one is predicted to run too. `status` also
// says when a run is in progress, which outs an interrupted run left aside, and which
// stages ran below failed gates (--ignore-gates).
import { inputsFingerprint, stageInputs, stageOuts, type StageInputs } from './fingerprint.ts';
import { describeMissed } from './console-reporter.ts';
import type { IgnoredGate, LockData } from './lock-file.ts';
import { interruptedStages } from './outs-guard.ts';
import { runLockHolder } from './run-lock.ts';
import { PathHasher } from './path-hasher.ts';
import type { StageDecl } from './pipeline-config.ts';
import type { Project } from './project.ts';
import { decideFreshness, describeReason, type Freshness } from './staleness.ts';
import { ancestors } from './graph.ts';

export interface StageStatus {
  stage: string;
  freshness: Freshness;
  /** Stale on its own account (not only below a stale stage): its inputs' fingerprint, for a run-cache lookup. */
  fingerprint?: string;
  /** Where the run cache holds outs for `fingerprint` (local or a remote's name): the run restores it. */
  cachedIn?: string;
}

/** Its own freshness, from the lock and the files as they are now. */
export async function assessStage(
  project: Project,
  lock: LockData,
  stage: StageDecl,
  hasher: PathHasher,
  force = false,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<{ freshness: Freshness; inputs: StageInputs }> {
  const inputs = await stageInputs(project.root, stage, hasher, env);
  const outs = await stageOuts(stage, hasher);
  return { freshness: decideFreshness(lock.stages[stage.name], inputs, outs, force), inputs };
}

/** Each of `stages` (in run order); a fresh stage with a stale ancestor among them is "upstream-stale". */
export async function assessStages(
  project: Project,
  lock: LockData,
  stages: StageDecl[],
  opts: { force?: boolean; hasher?: PathHasher } = {},
): Promise<StageStatus[]> {
  const hasher = opts.hasher ?? new PathHasher(project.root, project.cache);
  const result: StageStatus[] = [];
  const stale = new Set<string>();
  for (const stage of stages) {
    let { freshness, inputs } = await assessStage(project, lock, stage, hasher, opts.force);
    const own = !freshness.fresh && freshness.reason.kind !== 'forced' && stage.cache;
    if (freshness.fresh) {
      const ups = ancestors(project.graph, stage.name);
      const staleUp = [...stale].find((s) => ups.has(s));
      if (staleUp) freshness = { fresh: false, reason: { kind: 'upstream-stale', stage: staleUp } };
    }
    if (!freshness.fresh) stale.add(stage.name);
    result.push({ stage: stage.name, freshness, ...(own ? { fingerprint: inputsFingerprint(inputs) } : {}) });
  }
  project.cache.save();
  return result;
}

/** Fills in `cachedIn` of the stages the run cache could restore (one batched lookup each: local, then remote). */
export async function markCached(statuses: StageStatus[], cache: { whereCached(fps: readonly string[]): Promise<Map<string, string>> }): Promise<void> {
  const fps = statuses.flatMap((s) => (s.fingerprint ? [s.fingerprint] : []));
  if (fps.length === 0) return;
  const where = await cache.whereCached(fps);
  for (const s of statuses) if (s.fingerprint && where.has(s.fingerprint)) s.cachedIn = where.get(s.fingerprint);
}

/** What `status` says beyond freshness. */
export interface StatusNotes {
  /** pid of the run holding the run lock now. */
  runInProgress: number | undefined;
  /** Stages whose outs are set aside: running now, or left by an interrupted run. */
  outsAside: string[];
  /** Stages that ran below missed gates with --ignore-gates, as the lock records. */
  ignoredGates: Record<string, IgnoredGate[]>;
  /** Stage -> its Slurm job still queued or running (slurm-executor's runningSlurmJobs). */
  slurmJobs?: Map<string, string>;
}

export function statusNotes(project: Project, lock: LockData): StatusNotes {
  const ignoredGates: Record<string, IgnoredGate[]> = {};
  for (const [stage, entry] of Object.entries(lock.stages)) if (entry.ignoredGates?.length) ignoredGates[stage] = entry.ignoredGates;
  return { runInProgress: runLockHolder(project.runLockFile), outsAside: interruptedStages(project.asideDir), ignoredGates };
}

/** The status line of one stage: its freshness, unless a run holds or left its outs aside. */
export function describeStatus(s: StageStatus, notes: StatusNotes): string {
  let text = s.freshness.fresh ? 'fresh' : `stale: ${describeReason(s.freshness.reason)}`;
  if (s.cachedIn) text += `; run restores it from cache ${s.cachedIn}`;
  if (notes.outsAside.includes(s.stage)) {
    text = notes.runInProgress !== undefined ? `running (run in progress, pid ${notes.runInProgress})` : 'interrupted run: outs will be restored by the next run';
  }
  const job = notes.slurmJobs?.get(s.stage);
  if (job) text = `running on slurm job ${job}${notes.runInProgress !== undefined ? '' : ' (its run was killed: the next run cancels it and restores the outs)'}`;
  const ignored = notes.ignoredGates[s.stage];
  if (ignored) text += `; RAN BELOW FAILED GATES (--ignore-gates): ${describeMissed(ignored)}`;
  return text;
}
