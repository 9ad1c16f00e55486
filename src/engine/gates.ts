// Gates: a stage's metrics checked against targets ("part_top1 >= 0.90"). A missing or
// non-numeric metric fails its gate with a message; a stage that reports itself skipped
// (`"status": "skipped"` in its metrics) has its gates shown as skipped, not failed.
import { readMetrics } from './metrics.ts';
import type { GateDecl, GateOp, StageDecl } from './pipeline-config.ts';
import { formatTable } from './table.ts';

export interface GateResult {
  stage: string;
  metric: string;
  /** As written: ">= 0.90". */
  target: string;
  value: number | undefined;
  status: 'pass' | 'fail' | 'skipped';
  /** Why it failed without a value, or why it was skipped. */
  note?: string;
}

export function compare(value: number, op: GateOp, target: number): boolean {
  switch (op) {
    case '>=':
      return value >= target;
    case '<=':
      return value <= target;
    case '>':
      return value > target;
    case '<':
      return value < target;
    case '==':
      return value === target;
    default: {
      const never: never = op;
      throw new Error(`unknown gate operator ${String(never)}`);
    }
  }
}

/** Every gate of `stage` against its metrics file as it is now. */
export function checkStageGates(root: string, stage: StageDecl): GateResult[] {
  if (stage.gates.length === 0 || !stage.metrics) return [];
  const metricsPath = stage.metrics.path;
  const read = readMetrics(root, metricsPath);
  const result = (g: GateDecl, rest: Omit<GateResult, 'stage' | 'metric' | 'target'>): GateResult => ({
    stage: stage.name,
    metric: g.metric,
    target: g.text,
    ...rest,
  });
  if (read.kind === 'missing') {
    return stage.gates.map((g) => result(g, { value: undefined, status: 'fail', note: `metrics file ${metricsPath} does not exist` }));
  }
  if (read.kind === 'invalid') {
    return stage.gates.map((g) => result(g, { value: undefined, status: 'fail', note: `${metricsPath} is not valid JSON: ${read.message}` }));
  }
  if (read.values['status'] === 'skipped') {
    const reason = typeof read.values['reason'] === 'string' ? read.values['reason'] : 'stage reported itself skipped';
    return stage.gates.map((g) => result(g, { value: undefined, status: 'skipped', note: reason }));
  }
  return stage.gates.map((g) => {
    const raw = read.values[g.metric];
    if (raw === undefined) return result(g, { value: undefined, status: 'fail', note: `${g.metric} is not in ${metricsPath}` });
    if (typeof raw !== 'number' || !Number.isFinite(raw)) {
      return result(g, { value: undefined, status: 'fail', note: `${g.metric} in ${metricsPath} is ${JSON.stringify(raw)}, not a number` });
    }
    return result(g, { value: raw, status: compare(raw, g.op, g.target) ? 'pass' : 'fail' });
  });
}

export function formatGateTable(results: GateResult[]): string {
  return formatTable(
    ['stage', 'metric', 'value', 'target', 'result'],
    results.map((r) => [
      r.stage,
      r.metric,
      r.value === undefined ? '-' : String(Number(r.value.toPrecision(6))),
      r.target,
      r.status === 'skipped' ? `skipped (${r.note})` : r.note ? `${r.status.toUpperCase()} (${r.note})` : r.status.toUpperCase(),
    ]),
  );
}
