/**
 * Where the true class lands among a row of logits, under one documented tie rule.
 *
 * Tie rule (pessimistic, so a gate can never pass on a tie): a class whose logit EQUALS the
 * true class's logit ranks ahead of it. The true class's rank is therefore
 * `1 + #{j != y : z_j >= z_y}`, and it is in the top-k iff that rank is <= k. A model that
 * outputs the same logit for every class scores 0 on top-1 rather than 1/C.
 * NaN logits of other classes are ignored (they compare false); a non-finite true logit
 * ranks last. The predicted class used by confusion matrices agrees with this rule: it is
 * the argmax where a tie prefers a class other than the true one, then the lowest index,
 * so `predicted === label` exactly when the rank is 1.
 */

/** Rank (1 = best) of class `label` in row `row` of a row-major [rows, nClasses] logit matrix. */
export function trueClassRank(logits: Float32Array, nClasses: number, row: number, label: number): number {
  const base = row * nClasses;
  const z = logits[base + label]!;
  if (!Number.isFinite(z)) return nClasses;
  let rank = 1;
  for (let j = 0; j < nClasses; j++) {
    if (j !== label && logits[base + j]! >= z) rank++;
  }
  return rank;
}

/** The predicted class of a row, consistent with `trueClassRank` (see the tie rule above). */
export function predictedClass(logits: Float32Array, nClasses: number, row: number, label: number): number {
  const base = row * nClasses;
  let best = -1;
  let bestZ = -Infinity;
  for (let j = 0; j < nClasses; j++) {
    const z = logits[base + j]!;
    // Strict '>' keeps the lowest index among equal competitors.
    if (j !== label && Number.isFinite(z) && (best < 0 || z > bestZ)) {
      best = j;
      bestZ = z;
    }
  }
  const zTrue = label >= 0 && label < nClasses ? logits[base + label]! : NaN;
  if (Number.isFinite(zTrue) && (best < 0 || zTrue > bestZ)) return label;
  if (best >= 0) return best;
  // Every competitor is NaN and so is the true logit: name any other class, it is a miss.
  return nClasses > 1 ? (label === 0 ? 1 : 0) : label;
}

/** Softmax probability of class `k` in row `row` (numerically stable); NaN if the row has NaN. */
export function softmaxProbability(logits: Float32Array, nClasses: number, row: number, k: number): number {
  const base = row * nClasses;
  let max = -Infinity;
  for (let j = 0; j < nClasses; j++) max = Math.max(max, logits[base + j]!);
  if (!Number.isFinite(max)) return NaN;
  let sum = 0;
  for (let j = 0; j < nClasses; j++) sum += Math.exp(logits[base + j]! - max);
  return Math.exp(logits[base + k]! - max) / sum;
}

/** Head scores of a split: part top-1 / top-k and color accuracy over the known colors. */
export interface HeadScores {
  part_top1: number;
  part_topk: number;
  /** null when no sample has a known color (part-only data). */
  color_acc: number | null;
  n: number;
  n_known_color: number;
}

/**
 * Scores logits (row-major, as collectLogits returns them) under the tie rule above: the one
 * scoring that training's validation, the train-fit sample and evaluate's top-k share.
 * `colorIndex` -1 = unknown color, left out of color accuracy.
 */
export function scoreLogits(
  logits: { partLogits: Float32Array; colorLogits: Float32Array; nParts: number; nColors: number },
  partIndex: ArrayLike<number>,
  colorIndex: ArrayLike<number>,
  k: number,
): HeadScores {
  const n = partIndex.length;
  let top1 = 0, topk = 0, known = 0, colorHits = 0;
  for (let i = 0; i < n; i++) {
    const rank = trueClassRank(logits.partLogits, logits.nParts, i, partIndex[i]!);
    if (rank === 1) top1++;
    if (rank <= k) topk++;
    const c = colorIndex[i]!;
    if (c < 0) continue;
    known++;
    if (predictedClass(logits.colorLogits, logits.nColors, i, c) === c) colorHits++;
  }
  const denominator = Math.max(n, 1);
  return { part_top1: top1 / denominator, part_topk: topk / denominator, color_acc: known ? colorHits / known : null, n, n_known_color: known };
}

/** The `k` best classes of one row of scores, best first; equal scores keep the lower index first. */
export function topClasses(scores: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: scores.length }, (_, i) => i)
    .sort((a, b) => scores[b]! - scores[a]! || a - b)
    .slice(0, k);
}
