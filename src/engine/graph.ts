// The DAG: edges from path containment (a dep under another stage's out), cycle finding,
// and choosing which stages a command covers.
//
//   synth -> filter -> augment-cache -> train -> evaluate
//                            \________________-> export -> deploy
//
// `run` covers all; `run S` and `--until S` cover S and its ancestors; `--only S` covers S.
import { pathsOverlap, writtenPaths, type Pipeline, type StageDecl } from './pipeline-config.ts';
import type { Diagnostic, Result } from './diagnostic.ts';

export interface Edge {
  from: string;
  to: string;
  /** The dep of `to` that lies under (or over) an out of `from`. */
  path: string;
}

export interface Graph {
  pipeline: Pipeline;
  /** Stages in a topological order, ties broken by declaration order. */
  order: StageDecl[];
  edges: Edge[];
  upstream: Map<string, Set<string>>;
  downstream: Map<string, Set<string>>;
}

/** Builds the graph, or a diagnostic naming the stages of a cycle. */
export function buildGraph(pipeline: Pipeline): Result<Graph> {
  const edges: Edge[] = [];
  for (const to of pipeline.stages) {
    for (const dep of to.deps) {
      for (const from of pipeline.stages) {
        const out = writtenPaths(from).find((o) => pathsOverlap(o.path, dep.path));
        if (out) edges.push({ from: from.name, to: to.name, path: dep.path });
      }
    }
  }
  const upstream = new Map(pipeline.stages.map((s) => [s.name, new Set<string>()]));
  const downstream = new Map(pipeline.stages.map((s) => [s.name, new Set<string>()]));
  for (const e of edges) {
    upstream.get(e.to)!.add(e.from);
    downstream.get(e.from)!.add(e.to);
  }

  const cycle = findCycle(pipeline.stages.map((s) => s.name), upstream);
  if (cycle) {
    const first = pipeline.stages.find((s) => s.name === cycle[0])!;
    const error: Diagnostic = {
      message: `the stages form a cycle: ${cycle.join(' -> ')} (a stage depends on its own outputs through this chain)`,
      location: first.location,
    };
    return { ok: false, error: [error] };
  }

  // Kahn's algorithm, always taking the earliest-declared ready stage.
  const order: StageDecl[] = [];
  const indegree = new Map([...upstream].map(([k, v]) => [k, v.size]));
  const done = new Set<string>();
  while (order.length < pipeline.stages.length) {
    const next = pipeline.stages.find((s) => !done.has(s.name) && indegree.get(s.name) === 0)!;
    done.add(next.name);
    order.push(next);
    for (const d of downstream.get(next.name)!) indegree.set(d, indegree.get(d)! - 1);
  }
  return { ok: true, value: { pipeline, order, edges, upstream, downstream } };
}

/** A cycle as a closed trail of stage names (first repeated at the end), or undefined. */
function findCycle(names: string[], upstream: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const trail: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'visiting') return [...trail.slice(trail.indexOf(name)), name];
    state.set(name, 'visiting');
    trail.push(name);
    for (const up of upstream.get(name) ?? []) {
      const found = visit(up);
      if (found) return found;
    }
    trail.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const n of names) {
    const found = visit(n);
    // The trail follows dep -> producer; reverse it so it reads in run order.
    if (found) return found.reverse();
  }
  return undefined;
}

/** All ancestors of `name` (not including it). */
export function ancestors(graph: Graph, name: string): Set<string> {
  const seen = new Set<string>();
  const stack = [...(graph.upstream.get(name) ?? [])];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push(...(graph.upstream.get(n) ?? []));
  }
  return seen;
}

export interface Selection {
  /** Target stage plus its ancestors (`run S`, `--until S`). */
  until?: string;
  /** Exactly this stage. */
  only?: string;
}

/** The stages a command covers, in run order; an unknown name is a usage error. */
export function selectStages(graph: Graph, sel: Selection): Result<StageDecl[], string> {
  for (const [flag, name] of [['--until', sel.until], ['--only', sel.only]] as const) {
    if (name !== undefined && !graph.pipeline.stages.some((s) => s.name === name)) {
      const known = graph.pipeline.stages.map((s) => s.name).join(', ');
      return { ok: false, error: `${flag === '--until' ? 'stage' : '--only'} "${name}" is not a stage of ${graph.pipeline.file} (stages: ${known})` };
    }
  }
  if (sel.only !== undefined) return { ok: true, value: graph.order.filter((s) => s.name === sel.only) };
  if (sel.until !== undefined) {
    const keep = ancestors(graph, sel.until).add(sel.until);
    return { ok: true, value: graph.order.filter((s) => keep.has(s.name)) };
  }
  return { ok: true, value: graph.order };
}

/** `pipeline dag`: one line per stage with what it waits for, or a Mermaid flowchart. */
export function renderDag(graph: Graph, mermaid: boolean): string {
  const id = (name: string): string => name.replace(/[^A-Za-z0-9_]/g, '_');
  if (mermaid) {
    const lines = ['flowchart TD'];
    for (const s of graph.order) lines.push(`  ${id(s.name)}["${s.name}"]`);
    const seen = new Set<string>();
    for (const e of graph.edges) {
      const key = `${e.from}->${e.to}`;
      if (seen.has(key)) continue;
      seen.add(key);
      lines.push(`  ${id(e.from)} --> ${id(e.to)}`);
    }
    return lines.join('\n');
  }
  return graph.order
    .map((s) => {
      const ups = [...graph.upstream.get(s.name)!];
      return ups.length === 0 ? s.name : `${s.name}  <- ${ups.join(', ')}`;
    })
    .join('\n');
}
