/**
 * Confusion matrices and the ranked list of confused class pairs (true -> predicted),
 * each carrying the sample indices behind it so a report can show the images.
 */

/** counts[t][p]: how many samples of true class t were predicted as p. Labels < 0 are skipped. */
export function confusionMatrix(labels: Int32Array, predictions: Int32Array, nClasses: number): number[][] {
  const counts = Array.from({ length: nClasses }, () => new Array<number>(nClasses).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const t = labels[i]!;
    if (t < 0) continue;
    counts[t]![predictions[i]!]!++;
  }
  return counts;
}

export interface ConfusedPair {
  trueIndex: number;
  predictedIndex: number;
  /** Samples of the true class predicted as the other one. */
  count: number;
  /** count / number of test samples of the true class. */
  rateOfTrue: number;
  /** The opposite direction (predicted -> true), to spot mutual confusions. */
  reverseCount: number;
  /** Indices (into the arrays given) of the samples behind this pair, in input order. */
  samples: number[];
}

/**
 * Off-diagonal cells of the confusion matrix, ranked: most samples first; then the larger
 * share of the true class (3 of 4 is worse than 3 of 40); then the pair that is also
 * confused the other way; then by class index, so the order is total and stable.
 */
export function confusedPairs(labels: Int32Array, predictions: Int32Array, nClasses: number, limit = Infinity): ConfusedPair[] {
  const matrix = confusionMatrix(labels, predictions, nClasses);
  const support = matrix.map((row) => row.reduce((a, b) => a + b, 0));
  const samplesByCell = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const t = labels[i]!;
    const p = predictions[i]!;
    if (t < 0 || t === p) continue;
    const key = t * nClasses + p;
    let list = samplesByCell.get(key);
    if (!list) samplesByCell.set(key, (list = []));
    list.push(i);
  }
  const pairs: ConfusedPair[] = [];
  for (const [key, samples] of samplesByCell) {
    const t = Math.floor(key / nClasses);
    const p = key % nClasses;
    pairs.push({
      trueIndex: t,
      predictedIndex: p,
      count: samples.length,
      rateOfTrue: samples.length / support[t]!,
      reverseCount: matrix[p]![t]!,
      samples,
    });
  }
  pairs.sort(
    (a, b) =>
      b.count - a.count ||
      b.rateOfTrue - a.rateOfTrue ||
      b.reverseCount - a.reverseCount ||
      a.trueIndex - b.trueIndex ||
      a.predictedIndex - b.predictedIndex,
  );
  return pairs.slice(0, limit);
}
