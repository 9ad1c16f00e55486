/**
 * The evaluation of the two-headed classifier on a test split: pure functions from logits
 * and labels to every number the evaluate stage reports (top-k, per-class, macro/micro,
 * confidence intervals, confusion matrices, confused pairs, worst examples).
 */
import { confusedPairs, confusionMatrix, type ConfusedPair } from './confusion.ts';
import { bootstrapInterval, type BootstrapOptions, type Interval } from './intervals.ts';
import { macroAverage, macroRecallOfSample, minRecallOfSample, perClassStats, worstRecall, type ClassStats } from './per-class.ts';
import { predictedClass, softmaxProbability, trueClassRank } from './ranking.ts';

export interface EvaluationInput {
  /** Row-major [n, nParts] part logits. */
  partLogits: Float32Array;
  /** Row-major [n, nColors] color logits. */
  colorLogits: Float32Array;
  /** True part class per sample (index into the part head). */
  partIndex: Int32Array;
  /** True color class per sample; -1 = unknown (left out of color metrics and counted). */
  colorIndex: Int32Array;
  nParts: number;
  nColors: number;
}

export interface EvaluationOptions extends BootstrapOptions {
  /** The k of top-k part accuracy (capped at the number of parts). */
  topK: number;
  /** How many confused pairs to keep per head. */
  pairLimit: number;
  /** How many worst examples to keep. */
  worstLimit: number;
  /** Parts with fewer test images are left out of worst_part_recall (one image's luck is not a part's recall). */
  worstPartMinTestImages: number;
}

export const defaultEvaluationOptions: EvaluationOptions = {
  topK: 5,
  resamples: 2000,
  confidence: 0.95,
  seed: 20240607,
  pairLimit: 20,
  worstLimit: 24,
  worstPartMinTestImages: 5,
};

/** A headline number with its interval; value null when it is undefined on this split. */
export interface Estimate {
  value: number | null;
  interval: Interval | null;
}

/** The lowest per-part recall over parts with enough test images (the plan's "reliably for all target parts"). */
export interface WorstPartRecall extends Estimate {
  /** The part that has it; null when no part has enough test images. */
  part: number | null;
  /** Parts counted / present parts left out for having fewer than the minimum test images. */
  eligibleParts: number;
  excludedParts: number;
  minTestImages: number;
}

export interface WorstExample {
  sample: number;
  trueIndex: number;
  predictedIndex: number;
  /** Softmax probability the model gave the true part. */
  trueProbability: number;
  /** Rank of the true part (1 = best). */
  rank: number;
}

export interface Evaluation {
  n: number;
  topK: number;
  partTop1: Estimate;
  partTopK: Estimate;
  partMacroAccuracy: Estimate;
  partMacroF1: number | null;
  worstPartRecall: WorstPartRecall;
  colorAccuracy: Estimate;
  colorMacroAccuracy: Estimate;
  colorMacroF1: number | null;
  colorKnownCount: number;
  colorUnknownCount: number;
  perPart: ClassStats[];
  perColor: ClassStats[];
  partConfusion: number[][];
  colorConfusion: number[][];
  partPairs: ConfusedPair[];
  colorPairs: ConfusedPair[];
  worstParts: WorstExample[];
  /** Per sample: predicted part, rank of the true part, predicted color (-1 if unknown color). */
  partPrediction: Int32Array;
  partRank: Int32Array;
  colorPrediction: Int32Array;
}

function meanOfHits(hits: Uint8Array): (indices: Int32Array) => number {
  return (indices) => {
    let sum = 0;
    for (let k = 0; k < indices.length; k++) sum += hits[indices[k]!]!;
    return sum / indices.length;
  };
}

function mean(hits: Uint8Array): number | null {
  if (hits.length === 0) return null;
  let sum = 0;
  for (const h of hits) sum += h;
  return sum / hits.length;
}

/** Checks the shapes agree; a mismatch is a bug in the caller, so it throws. */
function checkShapes(input: EvaluationInput): number {
  const n = input.partIndex.length;
  if (input.colorIndex.length !== n) throw new Error(`colorIndex has ${input.colorIndex.length} samples, partIndex ${n}`);
  if (input.partLogits.length !== n * input.nParts) throw new Error(`partLogits has ${input.partLogits.length} values, expected ${n} x ${input.nParts}`);
  if (input.colorLogits.length !== n * input.nColors) throw new Error(`colorLogits has ${input.colorLogits.length} values, expected ${n} x ${input.nColors}`);
  for (let i = 0; i < n; i++) {
    const p = input.partIndex[i]!;
    const c = input.colorIndex[i]!;
    if (p < 0 || p >= input.nParts) throw new Error(`sample ${i}: part index ${p} outside 0..${input.nParts - 1}`);
    if (c < -1 || c >= input.nColors) throw new Error(`sample ${i}: color index ${c} outside -1..${input.nColors - 1}`);
  }
  return n;
}

/** Evaluates both heads on the given samples. */
export function evaluateClassifier(input: EvaluationInput, options: EvaluationOptions = defaultEvaluationOptions): Evaluation {
  const n = checkShapes(input);
  const { nParts, nColors } = input;
  const topK = Math.min(options.topK, nParts);

  const partPrediction = new Int32Array(n);
  const partRank = new Int32Array(n);
  const top1Hits = new Uint8Array(n);
  const topKHits = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const label = input.partIndex[i]!;
    partRank[i] = trueClassRank(input.partLogits, nParts, i, label);
    partPrediction[i] = predictedClass(input.partLogits, nParts, i, label);
    top1Hits[i] = partRank[i] === 1 ? 1 : 0;
    topKHits[i] = partRank[i]! <= topK ? 1 : 0;
  }

  // Color metrics use only the samples whose color the head knows.
  const known: number[] = [];
  const colorPrediction = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const label = input.colorIndex[i]!;
    if (label < 0) continue;
    known.push(i);
    colorPrediction[i] = predictedClass(input.colorLogits, nColors, i, label);
  }
  const knownColorLabels = Int32Array.from(known, (i) => input.colorIndex[i]!);
  const knownColorPredictions = Int32Array.from(known, (i) => colorPrediction[i]!);
  const colorHits = Uint8Array.from(known, (i) => (colorPrediction[i] === input.colorIndex[i] ? 1 : 0));

  const perPart = perClassStats(input.partIndex, partPrediction, nParts, options.confidence);
  const perColor = perClassStats(knownColorLabels, knownColorPredictions, nColors, options.confidence);

  const worst = worstRecall(perPart, options.worstPartMinTestImages);

  const worstParts: WorstExample[] = [];
  for (let i = 0; i < n; i++) {
    worstParts.push({
      sample: i,
      trueIndex: input.partIndex[i]!,
      predictedIndex: partPrediction[i]!,
      trueProbability: softmaxProbability(input.partLogits, nParts, i, input.partIndex[i]!),
      rank: partRank[i]!,
    });
  }
  // Misses first, then the least confident; NaN probabilities (a broken model) sort first.
  worstParts.sort((a, b) => b.rank - a.rank || (Number.isNaN(a.trueProbability) ? -1 : Number.isNaN(b.trueProbability) ? 1 : a.trueProbability - b.trueProbability) || a.sample - b.sample);

  return {
    n,
    topK,
    partTop1: { value: mean(top1Hits), interval: bootstrapInterval(n, meanOfHits(top1Hits), options) },
    partTopK: { value: mean(topKHits), interval: bootstrapInterval(n, meanOfHits(topKHits), options) },
    partMacroAccuracy: {
      value: macroAverage(perPart, (s) => s.recall),
      interval: bootstrapInterval(n, (idx) => macroRecallOfSample(input.partIndex, top1Hits, idx, nParts), options),
    },
    partMacroF1: macroAverage(perPart, (s) => s.f1),
    worstPartRecall: {
      value: worst.value,
      interval: worst.eligible.length ? bootstrapInterval(n, (idx) => minRecallOfSample(input.partIndex, top1Hits, idx, nParts, worst.eligible), options) : null,
      part: worst.index,
      eligibleParts: worst.eligible.length,
      excludedParts: worst.excluded,
      minTestImages: options.worstPartMinTestImages,
    },
    colorAccuracy: { value: mean(colorHits), interval: bootstrapInterval(known.length, meanOfHits(colorHits), options) },
    colorMacroAccuracy: {
      value: macroAverage(perColor, (s) => s.recall),
      interval: bootstrapInterval(known.length, (idx) => macroRecallOfSample(knownColorLabels, colorHits, idx, nColors), options),
    },
    colorMacroF1: macroAverage(perColor, (s) => s.f1),
    colorKnownCount: known.length,
    colorUnknownCount: n - known.length,
    perPart,
    perColor,
    partConfusion: confusionMatrix(input.partIndex, partPrediction, nParts),
    colorConfusion: confusionMatrix(knownColorLabels, knownColorPredictions, nColors),
    partPairs: confusedPairs(input.partIndex, partPrediction, nParts, options.pairLimit),
    // Map color pair samples back from the known-color subset to the input rows.
    colorPairs: confusedPairs(knownColorLabels, knownColorPredictions, nColors, options.pairLimit).map((p) => ({
      ...p,
      samples: p.samples.map((k) => known[k]!),
    })),
    worstParts: worstParts.slice(0, options.worstLimit),
    partPrediction,
    partRank,
    colorPrediction,
  };
}
