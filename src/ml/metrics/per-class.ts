/**
 * Per-class accuracy (recall), precision and F1 from labels and predictions, and their
 * macro and micro averages.
 */
import { wilsonInterval, type Interval } from './intervals.ts';

export interface ClassStats {
  index: number;
  /** Test samples of this class. 0 means the class is absent from the test split. */
  support: number;
  correct: number;
  /** Samples predicted as this class (right or wrong). */
  predicted: number;
  /** correct / support: the per-class accuracy; null when the class is absent. */
  recall: number | null;
  /** correct / predicted; null when nothing was predicted as this class. */
  precision: number | null;
  /** Harmonic mean of precision and recall; 0 when nothing was right, null when absent. */
  f1: number | null;
  /** Wilson interval of recall; null when the class is absent. */
  recallInterval: Interval | null;
}

/** Stats per class; samples whose label is < 0 (unknown) are left out. */
export function perClassStats(labels: Int32Array, predictions: Int32Array, nClasses: number, confidence: number): ClassStats[] {
  const support = new Array<number>(nClasses).fill(0);
  const correct = new Array<number>(nClasses).fill(0);
  const predicted = new Array<number>(nClasses).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const t = labels[i]!;
    if (t < 0) continue;
    const p = predictions[i]!;
    support[t]!++;
    predicted[p]!++;
    if (t === p) correct[t]!++;
  }
  return support.map((n, index) => {
    const recall = n > 0 ? correct[index]! / n : null;
    const precision = predicted[index]! > 0 ? correct[index]! / predicted[index]! : null;
    let f1: number | null = null;
    if (recall !== null) f1 = correct[index] === 0 || precision === null ? 0 : (2 * precision * recall) / (precision + recall);
    return {
      index,
      support: n,
      correct: correct[index]!,
      predicted: predicted[index]!,
      recall,
      precision,
      f1,
      recallInterval: wilsonInterval(correct[index]!, n, confidence),
    };
  });
}

/**
 * Mean of a per-class value over the classes present in the test split. Absent classes are
 * left out (their accuracy is undefined, not 0); null when no class is present.
 */
export function macroAverage(stats: ClassStats[], pick: (s: ClassStats) => number | null): number | null {
  let sum = 0;
  let n = 0;
  for (const s of stats) {
    const v = pick(s);
    if (s.support > 0 && v !== null) {
      sum += v;
      n++;
    }
  }
  return n > 0 ? sum / n : null;
}

/** Per-class support and hits over a resample's `indices`; labels < 0 are skipped. */
function countsOfSample(labels: Int32Array, hits: Uint8Array, indices: Int32Array, nClasses: number): { support: Int32Array; correct: Int32Array } {
  const support = new Int32Array(nClasses);
  const correct = new Int32Array(nClasses);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    const t = labels[i]!;
    if (t < 0) continue;
    support[t]!++;
    correct[t]! += hits[i]!;
  }
  return { support, correct };
}

/**
 * Macro recall of a resample: the statistic the bootstrap calls for macro accuracy.
 * `hits[i]` is 1 when sample i is right; labels < 0 are skipped.
 */
export function macroRecallOfSample(labels: Int32Array, hits: Uint8Array, indices: Int32Array, nClasses: number): number {
  const { support, correct } = countsOfSample(labels, hits, indices, nClasses);
  let sum = 0;
  let n = 0;
  for (let c = 0; c < nClasses; c++) {
    if (support[c]! > 0) {
      sum += correct[c]! / support[c]!;
      n++;
    }
  }
  return n > 0 ? sum / n : NaN;
}

/** The lowest per-class recall over the classes with at least `minSupport` test samples. */
export interface WorstRecall {
  value: number | null;
  /** The class that has it; null when no class qualifies. */
  index: number | null;
  /** Classes counted, and present classes left out for having fewer than `minSupport` samples. */
  eligible: number[];
  excluded: number;
}

export function worstRecall(stats: ClassStats[], minSupport: number): WorstRecall {
  const present = stats.filter((s) => s.support > 0);
  const eligible = present.filter((s) => s.support >= minSupport);
  let worst: ClassStats | undefined;
  for (const s of eligible) if (worst === undefined || s.recall! < worst.recall!) worst = s;
  return { value: worst?.recall ?? null, index: worst?.index ?? null, eligible: eligible.map((s) => s.index), excluded: present.length - eligible.length };
}

/**
 * Worst recall of a resample over the `eligible` classes (those absent from the resample are
 * skipped): the statistic the bootstrap calls for worst_part_recall's interval.
 */
export function minRecallOfSample(labels: Int32Array, hits: Uint8Array, indices: Int32Array, nClasses: number, eligible: readonly number[]): number {
  const { support, correct } = countsOfSample(labels, hits, indices, nClasses);
  let min = NaN;
  for (const c of eligible) {
    if (support[c]! === 0) continue;
    const r = correct[c]! / support[c]!;
    if (!(r >= min)) min = r;
  }
  return min;
}
