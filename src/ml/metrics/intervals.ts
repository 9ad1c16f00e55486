/**
 * Confidence intervals: a seeded percentile bootstrap for the headline metrics and the
 * Wilson score interval for per-class accuracies.
 *
 * Why two methods: the percentile bootstrap of a class seen once or twice collapses to a
 * point (1 correct of 1 -> [1, 1]), which claims certainty the data does not have; Wilson
 * stays honest at tiny counts. Headline metrics pool the whole test split, where the
 * bootstrap is the better tool (it also covers macro averages, which have no closed form).
 */
import { createRng } from '../random.ts';

export interface Interval {
  low: number;
  high: number;
}

export interface BootstrapOptions {
  /** Number of resamples; 2000 keeps the 2.5/97.5 percentiles stable to about ±0.005. */
  resamples: number;
  /** Two-sided coverage, e.g. 0.95. */
  confidence: number;
  /** Seed of the resampling generator, so a rerun reports the same interval. */
  seed: number;
}

/** Quantile of sorted values with linear interpolation between order statistics (R's type 7). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * Percentile bootstrap interval of `statistic` over `n` samples. `statistic` receives the
 * resampled sample indices (drawn with replacement); resamples where it is not finite are
 * dropped. Returns null when there is nothing to resample.
 */
export function bootstrapInterval(
  n: number,
  statistic: (indices: Int32Array) => number,
  options: BootstrapOptions,
): Interval | null {
  if (n === 0 || options.resamples <= 0) return null;
  const random = createRng(options.seed);
  const indices = new Int32Array(n);
  const values: number[] = [];
  for (let b = 0; b < options.resamples; b++) {
    for (let i = 0; i < n; i++) indices[i] = Math.floor(random() * n);
    const v = statistic(indices);
    if (Number.isFinite(v)) values.push(v);
  }
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const alpha = 1 - options.confidence;
  return { low: quantileSorted(sorted, alpha / 2), high: quantileSorted(sorted, 1 - alpha / 2) };
}

/** Two-sided standard normal quantile for the given coverage (Acklam's rational approximation). */
export function normalQuantile(p: number): number {
  // Coefficients from P. J. Acklam's inverse-normal algorithm (relative error < 1.2e-9).
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const pLow = 0.02425;
  if (p < pLow) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - pLow) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** Wilson score interval for `successes` of `n` at the given coverage; null when n is 0. */
export function wilsonInterval(successes: number, n: number, confidence: number): Interval | null {
  if (n === 0) return null;
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}
