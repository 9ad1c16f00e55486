// Freshness of every stage without running anything: what `pipeline status` and
// `run --dry-run` print. A stage below a stale one is predicted to run too.
import { stageInputs, stageOuts, type StageInputs } from './fingerprint.ts';
import type { LockData } from './lock-file.ts';
import { PathHasher } from './path-hasher.ts';
import type { StageDecl } from './pipeline-config.ts';
import type { Project } from './project.ts';
import { decideFreshness, type Freshness } from './staleness.ts';
import { ancestors } from './graph.ts';

export interface StageStatus {
  stage: string;
  freshness: Freshness;
}

/** Its own freshness, from the lock and the files as they are now. */
export async function assessStage(
  project: Project,
  lock: LockData,
  stage: StageDecl,
  hasher: PathHasher,
  force = false,
): Promise<{ freshness: Freshness; inputs: StageInputs }> {
  const inputs = await stageInputs(project.root, stage, hasher);
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
    let { freshness } = await assessStage(project, lock, stage, hasher, opts.force);
    if (freshness.fresh) {
      const ups = ancestors(project.graph, stage.name);
      const staleUp = [...stale].find((s) => ups.has(s));
      if (staleUp) freshness = { fresh: false, reason: { kind: 'upstream-stale', stage: staleUp } };
    }
    if (!freshness.fresh) stale.add(stage.name);
    result.push({ stage: stage.name, freshness });
  }
  project.cache.save();
  return result;
}
