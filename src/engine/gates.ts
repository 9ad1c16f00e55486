// Gates: a stage's metrics checked against targets ("part_top1 >= 0.90"). A missing or
// non-numeric metric fails its gate with a message; a stage that reports itself skipped
// (`"status": "skipped"` in its metrics) has its gates shown as skipped, not failed; a
// metric the metrics file lists under `not_applicable` (name -> why) is n/a, not failed;
// the gates of a stage that never ran (no metrics, no lock entry) are "not run".
import { readMetrics } from './metrics.ts';
import type { GateDecl, GateOp, StageDecl } from './pipeline-config.ts';
import { formatTable } from './table.ts';

export interface GateResult {
  stage: string;
  metric: string;
  /** As written: ">= 0.90". */
  target: string;
  value: number | undefined;
  status: 'pass' | 'fail' | 'skipped' | 'n/a' | 'not-run';
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

/** Why each metric does not apply, from the metrics file's optional `not_applicable` object. */
function notApplicable(values: Record<string, unknown>): Record<string, string> {
  const raw = values['not_applicable'];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return {};
  return Object.fromEntries(Object.entries(raw).map(([k, why]) => [k, typeof why === 'string' ? why : 'not applicable']));
}

/**
 * Every gate of `stage` against its metrics file as it is now. `neverRan`: the stage has no
 * lock entry, so a missing metrics file means "not run" rather than a failure.
 */
export function checkStageGates(root: string, stage: StageDecl, neverRan = false): GateResult[] {
  if (stage.gates.length === 0 || !stage.metrics) return [];
  const metricsPath = stage.metrics.path;
  const read = readMetrics(root, metricsPath);
  const result = (g: GateDecl, rest: Omit<GateResult, 'stage' | 'metric' | 'target'>): GateResult => ({
    stage: stage.name,
    metric: g.metric,
    target: g.text,
    ...rest,
  });
  if (read.kind === 'missing' && neverRan) {
    return stage.gates.map((g) => result(g, { value: undefined, status: 'not-run', note: 'the stage has not run' }));
  }
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
  const inapplicable = notApplicable(read.values);
  return stage.gates.map((g) => {
    const why = inapplicable[g.metric];
    if (why !== undefined) return result(g, { value: undefined, status: 'n/a', note: why });
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
      statusText(r),
    ]),
  );
}

function statusText(r: GateResult): string {
  switch (r.status) {
    case 'skipped':
      return `skipped (${r.note})`;
    case 'n/a':
      return `n/a — ${r.note}`;
    case 'not-run':
      return 'not run';
    case 'pass':
    case 'fail':
      return r.note ? `${r.status.toUpperCase()} (${r.note})` : r.status.toUpperCase();
    default: {
      const never: never = r.status;
      throw new Error(`unknown gate status ${String(never)}`);
    }
  }
}
