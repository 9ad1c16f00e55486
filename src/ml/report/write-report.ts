/**
 * Writes the evaluation report folder: index.html, its charts (SVG, plus PNG copies) and
 * thumbnails of the images behind the confused pairs and the worst examples.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { writeChart } from '../charts/render-chart.ts';
import type { ConfusedPair } from '../metrics/confusion.ts';
import type { Evaluation, EvaluationOptions } from '../metrics/evaluate-classifier.ts';
import { colorName, NO_COLOR_LABELS, type FlatMetrics, type HeadLabels } from '../metrics/metrics-file.ts';
import type { ClassStats } from '../metrics/per-class.ts';
import { classAccuracySpec, confusionSpec, headlineSpec, trainingCurvesSpec } from './chart-specs.ts';
import { renderReportHtml, type ClassRowView, type PairView, type TargetRow, type Thumb } from './html.ts';
import { writeThumbnail, type RgbImage } from './thumbnails.ts';
import type { TrainingHistory } from './training-history.ts';
import type { LearnedTable } from './learned-table.ts';
import { VERDICT_MEANINGS } from '../metrics/learned-verdict.ts';

/** A gate on a metric, as the pipeline declares it (op and target parsed). */
export interface Target {
  metric: string;
  op: '>=' | '<=' | '==' | '>' | '<';
  target: number;
  text: string;
}

export interface ReportInput {
  evaluation: Evaluation;
  options: EvaluationOptions;
  flat: FlatMetrics;
  labels: HeadLabels;
  targets: Target[];
  /** The test image of a sample (null if not available: the report then shows no thumbnail). */
  image: (sample: number) => RgbImage | null;
  /** The original file of a sample, shown on hover. */
  samplePath: (sample: number) => string;
  history: TrainingHistory;
  /** Train-fit beside test per source (learned-table.ts); `tested` names the test split's source. */
  learned: LearnedTable & { tested: string };
  /** Lines for the header, e.g. ['model', 'artifacts/model']. */
  facts?: [string, string][];
  title?: string;
  /** Thumbnails per confused pair (the rest are counted). */
  thumbsPerPair?: number;
  pairsShown?: number;
}

/** Headline metrics shown even without a gate. */
const HEADLINE = ['part_top1', 'part_top5', 'color_acc', 'part_macro_acc', 'color_macro_acc', 'worst_part_recall'];

export function gatePasses(value: number | null, t: Target): boolean {
  if (value === null || !Number.isFinite(value)) return false;
  switch (t.op) {
    case '>=': return value >= t.target;
    case '<=': return value <= t.target;
    case '>': return value > t.target;
    case '<': return value < t.target;
    case '==': return value === t.target;
    default: { const never: never = t.op; throw new Error(`unknown gate op ${String(never)}`); }
  }
}

function targetRows(flat: FlatMetrics, targets: Target[], partOnly: boolean): TargetRow[] {
  const metrics = [...new Set([...targets.map((t) => t.metric), ...HEADLINE])].filter((m) => m in flat || targets.some((t) => t.metric === m));
  return metrics.map((metric) => {
    const gate = targets.find((t) => t.metric === metric);
    const value = flat[metric] ?? null;
    return {
      metric,
      value,
      low: flat[`${metric}_ci_low`] ?? null,
      high: flat[`${metric}_ci_high`] ?? null,
      gate: gate ? gate.text : null,
      pass: gate ? gatePasses(value, gate) : null,
      ...(partOnly && metric.startsWith('color_') ? { pass: null, notApplicable: NO_COLOR_LABELS } : {}),
    };
  });
}

function classRows(stats: ClassStats[], name: (i: number) => string, rgb?: (i: number) => string | undefined): ClassRowView[] {
  return stats
    .filter((s) => s.support > 0 || s.predicted > 0)
    .sort((a, b) => (a.recall ?? 2) - (b.recall ?? 2) || b.support - a.support || a.index - b.index)
    .map((s) => ({
      name: name(s.index),
      swatch: rgb?.(s.index),
      support: s.support,
      correct: s.correct,
      accuracy: s.recall,
      low: s.recallInterval?.low ?? null,
      high: s.recallInterval?.high ?? null,
      precision: s.precision,
      f1: s.f1,
    }));
}

function worstPartNote(e: Evaluation, part: (i: number) => string): string {
  const w = e.worstPartRecall;
  const left = `${w.excludedParts} part(s) with fewer than ${w.minTestImages} test images left out (evaluate.worst_part_min_test_images)`;
  return w.part === null
    ? `worst_part_recall: n/a — no part has ${w.minTestImages} or more test images; ${left}.`
    : `worst_part_recall: the lowest per-part accuracy, ${part(w.part)}, over ${w.eligibleParts} part(s); ${left}. Its interval bootstraps that minimum.`;
}

export interface WrittenReport {
  index: string;
  files: string[];
}

export async function writeEvaluationReport(dir: string, input: ReportInput): Promise<WrittenReport> {
  const { evaluation: e, labels, flat } = input;
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  const part = (i: number) => labels.parts[i] ?? `#${i}`;
  const color = (i: number) => colorName(labels, i);
  const rgb = (i: number) => labels.colors[i]?.rgb;

  // Thumbnails, one file per sample however many sections show it.
  const thumbFiles = new Map<number, string | null>();
  const thumb = async (sample: number, caption: string): Promise<Thumb | null> => {
    if (!thumbFiles.has(sample)) {
      const image = input.image(sample);
      const file = image ? `thumbs/sample-${sample}.png` : null;
      if (image && file) {
        await writeThumbnail(image, join(dir, file));
        files.push(file);
      }
      thumbFiles.set(sample, file);
    }
    const file = thumbFiles.get(sample);
    return file ? { file, caption, title: input.samplePath(sample) } : null;
  };
  const perPair = input.thumbsPerPair ?? 6;
  const pairsShown = input.pairsShown ?? 10;
  const pairViews = async (pairs: ConfusedPair[], name: (i: number) => string, swatches: boolean): Promise<PairView[]> => {
    const views: PairView[] = [];
    for (const p of pairs.slice(0, pairsShown)) {
      const thumbs: Thumb[] = [];
      for (const s of p.samples.slice(0, perPair)) {
        // The file name (its full path is the hover title), without the extension.
        const t = await thumb(s, basename(input.samplePath(s)).replace(/\.[a-z0-9]+$/i, ''));
        if (t) thumbs.push(t);
      }
      views.push({
        truth: name(p.trueIndex),
        predicted: name(p.predictedIndex),
        count: p.count,
        rateOfTrue: p.rateOfTrue,
        reverseCount: p.reverseCount,
        thumbs,
        more: p.samples.length - thumbs.length,
        swatches: swatches ? [rgb(p.trueIndex), rgb(p.predictedIndex)] : undefined,
      });
    }
    return views;
  };
  const partPairs = await pairViews(e.partPairs, part, false);
  const colorPairs = await pairViews(e.colorPairs, color, true);
  const worst: Thumb[] = [];
  for (const w of e.worstParts) {
    const caption = w.rank === 1 ? `${part(w.trueIndex)} ✓ p=${w.trueProbability.toFixed(2)}` : `${part(w.trueIndex)} → ${part(w.predictedIndex)}`;
    const t = await thumb(w.sample, caption);
    if (t) worst.push(t);
  }

  // Charts.
  const chart = async (spec: Parameters<typeof writeChart>[0], name: string, alt: string) => {
    const written = await writeChart(spec, dir, name, { png: true });
    files.push(written.svg, ...(written.png ? [written.png] : []));
    return { file: written.svg, alt };
  };
  const partOnly = labels.part_only === true;
  const targets = targetRows(flat, input.targets, partOnly);
  const headlineChart = await chart(
    headlineSpec(
      targets
        .filter((t) => t.value !== null)
        .map((t) => ({ metric: t.metric, value: t.value!, low: t.low, high: t.high, target: input.targets.find((g) => g.metric === t.metric)?.target ?? null })),
    ),
    'headline',
    'headline metrics with 95% intervals against their targets',
  );
  const training = input.history.ok
    ? await chart(trainingCurvesSpec(input.history.points), 'training-curves', 'training loss and accuracy per epoch')
    : { missing: input.history.reason };
  const partConfusion = await chart(confusionSpec(e.partConfusion, labels.parts.map((_, i) => part(i)), 'part confusion (rows: true, columns: predicted)'), 'part-confusion', 'part confusion matrix heatmap');
  const colorConfusion = e.colorKnownCount > 0 && !partOnly
    ? await chart(confusionSpec(e.colorConfusion, labels.colors.map((_, i) => color(i)), 'color confusion (rows: true, columns: predicted)'), 'color-confusion', 'color confusion matrix heatmap')
    : null;
  const partAccuracyChart = await chart(
    classAccuracySpec(
      e.perPart.filter((s) => s.support > 0).map((s) => ({ name: part(s.index), accuracy: s.recall!, low: s.recallInterval!.low, high: s.recallInterval!.high, support: s.support })),
      'per-part accuracy',
    ),
    'part-accuracy',
    'per-part accuracy bars with intervals',
  );

  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  const html = renderReportHtml({
    title: input.title ?? 'brickflow evaluation report',
    generatedAt: new Date().toISOString(),
    facts: [
      ['test images', String(e.n)],
      partOnly
        ? ['color', `n/a — ${NO_COLOR_LABELS} (the model is part-only)`]
        : ['known colors / unknown colors', `${e.colorKnownCount} / ${e.colorUnknownCount} (unknown colors are left out of color accuracy)`],
      ['parts in the head / absent from test', `${labels.parts.length} / ${e.perPart.filter((s) => s.support === 0).length}`],
      ...(input.facts ?? []),
    ],
    targets,
    learned: input.learned.ok
      ? { rows: input.learned.rows, tested: input.learned.tested, meanings: [...new Set(input.learned.rows.map((r) => r.verdict))].map((v) => [v, VERDICT_MEANINGS[v]]) }
      : { missing: input.learned.reason },
    worstPartNote: worstPartNote(e, part),
    headlineChart,
    training,
    partConfusion,
    colorConfusion,
    partPairs,
    colorPairs,
    partAccuracyChart,
    perPart: classRows(e.perPart, part),
    perColor: partOnly ? null : classRows(e.perColor, color, rgb),
    worst,
    notes: [
      `Top-${e.topK} and top-1 use a pessimistic tie rule: a class whose logit equals the true class's ranks ahead of it, so ties count as misses.`,
      `Headline intervals: percentile bootstrap over test images, ${input.options.resamples} resamples, seed ${input.options.seed}, ${pct(input.options.confidence)} coverage.`,
      `Per-class intervals: Wilson score interval (${pct(input.options.confidence)}), which stays honest for classes with few test images.`,
      'Macro accuracy is the mean of per-class accuracy over the classes present in the test split; micro accuracy (pooled) equals top-1 / color accuracy.',
      'Color accuracy counts only test images whose color the color head knows.',
    ],
  });
  const index = join(dir, 'index.html');
  await writeFile(index, html);
  return { index, files: ['index.html', ...files] };
}
