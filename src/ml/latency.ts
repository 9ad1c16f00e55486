// Measures single-image ONNX Runtime latency (warm-up, then percentiles) and scales it to a target device.
import type * as ort from 'onnxruntime-node';

export interface LatencyStats {
  runs: number;
  p50: number;
  p95: number;
  mean: number;
  min: number;
}

/** Nearest-rank percentile of sorted values (q in 0..1). */
export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function summarize(samplesMs: number[]): LatencyStats {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return {
    runs: sorted.length,
    p50: round(percentile(sorted, 0.5)),
    p95: round(percentile(sorted, 0.95)),
    mean: round(sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length)),
    min: round(sorted[0] ?? NaN),
  };
}

/** Times `fn` `runs` times after `warmup` untimed calls; milliseconds per call. */
export async function timeCalls(fn: () => Promise<unknown>, warmup: number, runs: number): Promise<LatencyStats> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return summarize(samples);
}

/** Latency of one batch-1 inference on a session. */
export function measureSessionLatency(session: ort.InferenceSession, feeds: ort.InferenceSession.FeedsType, warmup: number, runs: number): Promise<LatencyStats> {
  return timeCalls(() => session.run(feeds), warmup, runs);
}

/** The device estimate: this machine's latency times the configured slowdown factor. */
export function estimateDeviceLatency(measuredMs: number, slowdownFactor: number): number {
  return Math.round(measuredMs * slowdownFactor * 100) / 100;
}
