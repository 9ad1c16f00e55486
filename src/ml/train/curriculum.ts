/**
 * The curriculum of source mix by epoch (§3.2): the plan's phases, written in plan epochs
 * (0–5, 5–15, 15–30 of 30), are scaled to the configured epoch count; each epoch draws its
 * samples per source in the phase's proportions. A source the data lacks gives its share
 * to the others in proportion.
 */
import type { Random } from '../random.ts';

export interface CurriculumPhase {
  /** [start, end) in plan epochs. */
  fromEpoch: number;
  toEpoch: number;
  /** Source name -> share of the epoch's samples (shares need not sum to 1). */
  mix: Record<string, number>;
}

export interface CurriculumConfig {
  enabled: boolean;
  planEpochs: number;       // the plan's length the phases are written in (30)
  phases: CurriculumPhase[];
}

/** The phase active at (0-based) `epoch` of `epochs`, after scaling to the plan's length. */
export function phaseAt(c: CurriculumConfig, epoch: number, epochs: number): CurriculumPhase | undefined {
  const planEpoch = (epoch * c.planEpochs) / Math.max(1, epochs);
  return c.phases.find((p) => planEpoch >= p.fromEpoch && planEpoch < p.toEpoch) ?? c.phases[c.phases.length - 1];
}

/** Normalised shares over the sources that exist in the data. */
export function effectiveMix(mix: Record<string, number>, present: Iterable<string>): Map<string, number> {
  const out = new Map<string, number>();
  let total = 0;
  for (const s of present) {
    const share = mix[s] ?? 0;
    if (share > 0) { out.set(s, share); total += share; }
  }
  if (total === 0) return out;
  for (const [s, share] of out) out.set(s, share / total);
  return out;
}

/**
 * The shares an epoch actually draws (what the log shows): the phase's mix over the sources
 * the data has, or, when it names none of them (or there is no mix), each source's share of
 * the data, as sampleEpoch's plain shuffle draws them.
 */
export function drawnMix(mix: Record<string, number> | undefined, sources: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of sources) counts.set(s, (counts.get(s) ?? 0) + 1);
  const shares = mix ? effectiveMix(mix, counts.keys()) : new Map<string, number>();
  if (shares.size > 0) return shares;
  return new Map([...counts].map(([s, n]) => [s, n / Math.max(1, sources.length)]));
}

/**
 * Indices of one epoch's samples: `size` draws split across sources by `mix`, each source
 * walked in a fresh shuffled order (repeating it when its share exceeds its size),
 * then all shuffled together. Without a mix (curriculum off), a plain shuffle of all.
 */
export function sampleEpoch(sources: readonly string[], mix: Record<string, number> | undefined, size: number, rng: Random): Int32Array {
  const bySource = new Map<string, number[]>();
  sources.forEach((s, i) => { const list = bySource.get(s) ?? []; list.push(i); bySource.set(s, list); });
  const shares = mix ? effectiveMix(mix, bySource.keys()) : new Map<string, number>();
  const out: number[] = [];
  if (shares.size === 0) {
    const all = shuffled(sources.map((_, i) => i), rng);
    for (let k = 0; k < size; k++) out.push(all[k % all.length]!);
  } else {
    // Largest-remainder rounding so the counts add up to `size` exactly.
    const entries = [...shares];
    const counts = entries.map(([, share]) => Math.floor(share * size));
    const order = entries.map(([, share], i) => ({ i, rem: share * size - counts[i]! })).sort((a, b) => b.rem - a.rem);
    for (let k = 0; k < size - counts.reduce((a, b) => a + b, 0); k++) counts[order[k % order.length]!.i]!++;
    entries.forEach(([source], i) => {
      const pool = shuffled(bySource.get(source)!, rng);
      for (let k = 0; k < counts[i]!; k++) out.push(pool[k % pool.length]!);
    });
  }
  return Int32Array.from(shuffled(out, rng));
}

function shuffled<T>(items: T[], rng: Random): T[] {
  const a = items.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

