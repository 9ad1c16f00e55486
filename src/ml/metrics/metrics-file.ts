/**
 * Turns an Evaluation into artifacts/metrics/evaluate.json: flat numbers at the top level
 * (what the engine's gates read) and the detail nested under `detail`.
 */
import type { ConfusedPair } from './confusion.ts';
import type { Estimate, Evaluation, EvaluationOptions } from './evaluate-classifier.ts';
import type { ClassStats } from './per-class.ts';

/** The class names of both heads, in head order (as in labels.json). */
export interface HeadLabels {
  parts: string[];
  colors: { id: number; name: string; rgb?: string }[];
  /** The data has no color labels: color metrics are not applicable (labels.json, src/ml/dataset/labels.ts). */
  part_only?: boolean;
}

/** Why color metrics and their gates are n/a on part-only data. */
export const NO_COLOR_LABELS = 'the data has no color labels';

/** The flat color metrics: null, and listed under `not_applicable`, on part-only data. */
const COLOR_METRICS = ['color_acc', 'color_acc_ci_low', 'color_acc_ci_high', 'color_macro_acc', 'color_macro_acc_ci_low', 'color_macro_acc_ci_high', 'color_macro_f1'];

/** Undefined metrics are written as null (JSON has no NaN) so a gate on them fails. */
export type FlatMetrics = Record<string, number | null>;

function round(x: number | null | undefined): number | null {
  return x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 1e6) / 1e6;
}

function flatEstimate(name: string, e: Estimate): FlatMetrics {
  return { [name]: round(e.value), [`${name}_ci_low`]: round(e.interval?.low), [`${name}_ci_high`]: round(e.interval?.high) };
}

export function colorName(labels: HeadLabels, index: number): string {
  const c = labels.colors[index];
  return c ? `${c.name} (${c.id})` : `#${index}`;
}

function classRows(stats: ClassStats[], name: (i: number) => string) {
  return stats.map((s) => ({
    name: name(s.index),
    support: s.support,
    correct: s.correct,
    predicted: s.predicted,
    accuracy: round(s.recall),
    accuracy_ci_low: round(s.recallInterval?.low),
    accuracy_ci_high: round(s.recallInterval?.high),
    precision: round(s.precision),
    f1: round(s.f1),
  }));
}

function pairRows(pairs: ConfusedPair[], name: (i: number) => string, samplePaths: (i: number) => string) {
  return pairs.map((p) => ({
    true: name(p.trueIndex),
    predicted: name(p.predictedIndex),
    count: p.count,
    rate_of_true: round(p.rateOfTrue),
    reverse_count: p.reverseCount,
    images: p.samples.map(samplePaths),
  }));
}

/** The flat gate-readable numbers. */
export function flatMetrics(e: Evaluation, labels: HeadLabels): FlatMetrics {
  const flat: FlatMetrics = {
    n_test: e.n,
    ...flatEstimate('part_top1', e.partTop1),
    // Named part_top5 by the plan; `detail.top_k` says the k used (capped at the part count).
    ...flatEstimate('part_top5', e.partTopK),
    ...flatEstimate('part_macro_acc', e.partMacroAccuracy),
    part_macro_f1: round(e.partMacroF1),
    ...flatEstimate('worst_part_recall', e.worstPartRecall),
    worst_part_recall_parts_excluded: e.worstPartRecall.excludedParts,
    parts_absent_from_test: e.perPart.filter((s) => s.support === 0).length,
    ...flatEstimate('color_acc', e.colorAccuracy),
    ...flatEstimate('color_macro_acc', e.colorMacroAccuracy),
    color_macro_f1: round(e.colorMacroF1),
    color_known_count: e.colorKnownCount,
    color_unknown_count: e.colorUnknownCount,
    n_parts: labels.parts.length,
    n_colors: labels.colors.length,
  };
  if (labels.part_only) for (const k of COLOR_METRICS) flat[k] = null;
  return flat;
}

/** The whole metrics file. `samplePaths(i)` names the image of test sample i. */
export function metricsFile(e: Evaluation, labels: HeadLabels, options: EvaluationOptions, samplePaths: (i: number) => string, split = 'test (real images only)') {
  const part = (i: number) => labels.parts[i] ?? `#${i}`;
  const color = (i: number) => colorName(labels, i);
  const colorDetail = labels.part_only
    ? { color: `n/a — ${NO_COLOR_LABELS}: the model is part-only` }
    : {
        per_color: classRows(e.perColor, color),
        color_confusion: { labels: labels.colors.map((_, i) => color(i)), rows_true_cols_predicted: e.colorConfusion },
        color_confused_pairs: pairRows(e.colorPairs, color, samplePaths),
      };
  return {
    ...flatMetrics(e, labels),
    // The engine shows these gates as n/a instead of failing them (docs/contracts.md).
    ...(labels.part_only ? { not_applicable: Object.fromEntries(COLOR_METRICS.map((k) => [k, NO_COLOR_LABELS])) } : {}),
    detail: {
      split,
      top_k: e.topK,
      tie_rule: 'a class whose logit equals the true class logit ranks ahead of it (ties count as misses)',
      micro: 'micro accuracy equals part_top1 / color_acc (single-label: micro precision = micro recall = accuracy)',
      macro: 'mean of per-class accuracy over classes present in the test split',
      intervals: {
        headline: `percentile bootstrap, ${options.resamples} resamples, seed ${options.seed}, ${options.confidence * 100}%`,
        per_class: `Wilson score interval, ${options.confidence * 100}%`,
      },
      worst_part_recall: {
        part: e.worstPartRecall.part === null ? null : part(e.worstPartRecall.part),
        parts_counted: e.worstPartRecall.eligibleParts,
        parts_excluded: e.worstPartRecall.excludedParts,
        rule: `lowest per-part accuracy over parts with at least ${e.worstPartRecall.minTestImages} test images (evaluate.worst_part_min_test_images); interval: percentile bootstrap of that minimum`,
      },
      per_part: classRows(e.perPart, part),
      part_confusion: { labels: labels.parts, rows_true_cols_predicted: e.partConfusion },
      part_confused_pairs: pairRows(e.partPairs, part, samplePaths),
      ...colorDetail,
      worst_parts: e.worstParts.map((w) => ({
        image: samplePaths(w.sample),
        true: part(w.trueIndex),
        predicted: part(w.predictedIndex),
        true_probability: round(w.trueProbability),
        rank: w.rank,
      })),
    },
  };
}
