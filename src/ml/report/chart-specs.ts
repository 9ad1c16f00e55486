/**
 * The vega-lite specs of the evaluation report's charts: headline metrics against their
 * targets, the confusion heatmap, per-class accuracy and the training curves.
 */
import type { ChartSpec } from '../charts/render-chart.ts';
import type { HistoryPoint } from './training-history.ts';

export interface HeadlineRow {
  metric: string;
  value: number;
  low: number | null;
  high: number | null;
  target: number | null;
}

/** Each headline metric as a point with its CI bar, and its gate target as a red tick. */
export function headlineSpec(rows: HeadlineRow[]): ChartSpec {
  const lows = rows.flatMap((r) => [r.value, r.low ?? r.value, r.target ?? r.value]);
  const floor = Math.max(0, Math.floor((Math.min(...lows) - 0.05) * 20) / 20);
  const x = { type: 'quantitative' as const, scale: { domain: [floor, 1] }, title: 'value (95% CI; red tick = target)' };
  const y = { field: 'metric', type: 'nominal' as const, title: null, sort: null };
  return {
    width: 460,
    height: { step: 34 },
    data: { values: rows.map((r) => ({ ...r, low: r.low ?? r.value, high: r.high ?? r.value })) },
    encoding: { y },
    layer: [
      { mark: { type: 'rule', strokeWidth: 2, color: '#4c78a8' }, encoding: { x: { field: 'low', ...x }, x2: { field: 'high' } } },
      { mark: { type: 'point', filled: true, size: 80, color: '#4c78a8' }, encoding: { x: { field: 'value', ...x }, tooltip: [{ field: 'value', format: '.3f' }] } },
      {
        transform: [{ filter: 'datum.target != null' }],
        mark: { type: 'tick', color: '#d62728', thickness: 3, size: 22 },
        encoding: { x: { field: 'target', ...x } },
      },
    ],
  };
}

/**
 * A confusion heatmap: rows are true classes, columns predictions, colour is the share of
 * the row, text the count. `names` are in head order; only classes that occur are drawn.
 */
export function confusionSpec(matrix: number[][], names: string[], title: string): ChartSpec {
  const used = names.map((_, i) => matrix[i]!.some((v) => v > 0) || matrix.some((row) => row[i]! > 0));
  const order = names.filter((_, i) => used[i]);
  const cells: { truth: string; predicted: string; count: number; share: number }[] = [];
  matrix.forEach((row, t) => {
    if (!used[t]) return;
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((count, p) => {
      if (used[p]) cells.push({ truth: names[t]!, predicted: names[p]!, count, share: total > 0 ? count / total : 0 });
    });
  });
  const step = order.length > 40 ? 12 : order.length > 20 ? 18 : 28;
  return {
    title,
    width: { step },
    height: { step },
    data: { values: cells },
    encoding: {
      x: { field: 'predicted', type: 'nominal', sort: order, title: 'predicted', axis: { labelAngle: -60, labelLimit: 220 } },
      y: { field: 'truth', type: 'nominal', sort: order, title: 'true', axis: { labelLimit: 220 } },
    },
    layer: [
      {
        mark: 'rect',
        encoding: {
          // Empty cells stay near-white so the few confusions stand out.
          color: {
            condition: { test: 'datum.count == 0', value: '#f7f7f7' },
            field: 'share',
            type: 'quantitative',
            title: 'share of true class',
            scale: { scheme: 'blues', domain: [0, 1] },
          },
          tooltip: [{ field: 'truth' }, { field: 'predicted' }, { field: 'count' }],
        },
      },
      ...(step >= 18
        ? [
            {
              transform: [{ filter: 'datum.count > 0' }],
              mark: { type: 'text' as const, fontSize: step >= 28 ? 11 : 9 },
              encoding: {
                text: { field: 'count', type: 'quantitative' as const },
                color: { condition: { test: 'datum.share > 0.5', value: 'white' }, value: 'black' },
              },
            },
          ]
        : []),
    ],
  };
}

export interface ClassAccuracyRow {
  name: string;
  accuracy: number;
  low: number;
  high: number;
  support: number;
}

/** Per-class accuracy as bars (worst first) with Wilson intervals. */
export function classAccuracySpec(rows: ClassAccuracyRow[], title: string): ChartSpec {
  // An explicit order (worst first): a field sort would conflict between the layers.
  const order = [...rows].sort((a, b) => a.accuracy - b.accuracy || b.support - a.support).map((r) => r.name);
  const y = { field: 'name', type: 'nominal' as const, sort: order, title: null };
  return {
    title,
    width: 420,
    height: { step: rows.length > 40 ? 10 : 16 },
    data: { values: rows },
    encoding: { y },
    layer: [
      {
        mark: { type: 'bar', color: '#9ecae1' },
        encoding: { x: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1] }, title: 'accuracy (95% Wilson interval)' }, tooltip: [{ field: 'name' }, { field: 'accuracy', format: '.3f' }, { field: 'support' }] },
      },
      { mark: { type: 'rule', color: '#08519c' }, encoding: { x: { field: 'low', type: 'quantitative' }, x2: { field: 'high' } } },
    ],
  };
}

/**
 * Loss curves on the left, rates in [0, 1] (accuracies) on the right. Series on other
 * scales (learning rate, images/s, seconds) are left out: they would flatten the curves.
 */
export function trainingCurvesSpec(points: HistoryPoint[]): ChartSpec {
  const isLoss = (s: string) => /loss/i.test(s);
  const offScale = new Set(points.filter((p) => p.value < 0 || p.value > 1).map((p) => p.series));
  const isRate = (s: string) => !isLoss(s) && !offScale.has(s) && !/^lr$|learning_rate/i.test(s);
  const panel = (values: HistoryPoint[], title: string) => ({
    title,
    width: 340,
    height: 220,
    data: { values },
    mark: { type: 'line' as const, point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative' as const, title: 'epoch', axis: { tickMinStep: 1 } },
      y: { field: 'value', type: 'quantitative' as const, title: null, scale: { zero: false } },
      color: { field: 'series', type: 'nominal' as const, title: null },
    },
  });
  const losses = points.filter((p) => isLoss(p.series));
  const rates = points.filter((p) => isRate(p.series));
  const panels = [...(losses.length ? [panel(losses, 'loss')] : []), ...(rates.length ? [panel(rates, 'accuracy')] : [])];
  return { hconcat: panels, resolve: { scale: { color: 'independent' } } };
}
