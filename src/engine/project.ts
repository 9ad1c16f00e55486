// A loaded project: its checked pipeline and graph, and where the engine keeps its state.
import { join } from 'node:path';
import type { Result } from './diagnostic.ts';
import { buildGraph, type Graph } from './graph.ts';
import { loadPipeline, type Pipeline } from './pipeline-config.ts';
import { StatCache } from './stat-cache.ts';

export interface Project {
  pipeline: Pipeline;
  graph: Graph;
  root: string;
  /** pipeline.lock beside pipeline.yaml (committed to git). */
  lockFile: string;
  /** .pipeline/: the run lock, stat cache, logs and outs kept aside (git-ignored). */
  stateDir: string;
  logsDir: string;
  asideDir: string;
  runLockFile: string;
  cache: StatCache;
}

export function openProject(pipelineFile: string): Result<Project> {
  const loaded = loadPipeline(pipelineFile);
  if (!loaded.ok) return loaded;
  const graph = buildGraph(loaded.value);
  if (!graph.ok) return graph;
  const root = loaded.value.root;
  const stateDir = join(root, '.pipeline');
  return {
    ok: true,
    value: {
      pipeline: loaded.value,
      graph: graph.value,
      root,
      lockFile: join(root, 'pipeline.lock'),
      stateDir,
      logsDir: join(stateDir, 'logs'),
      asideDir: join(stateDir, 'aside'),
      runLockFile: join(stateDir, 'run.lock'),
      cache: new StatCache(stateDir),
    },
  };
}
