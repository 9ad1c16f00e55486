/**
 * Seeded random numbers for the whole project (the demo renderer, augmentation, epoch
 * sampling, bootstrap intervals, training's initialisation and dropout), so the same seed
 * always gives the same pictures, variants, batches and model. One generator: mulberry32
 * (32-bit state, fast, plenty for pictures and shuffles).
 */

/** Uniform numbers in [0, 1). */
export type Random = () => number;

/** A mulberry32 stream from a 32-bit seed. */
export function createRng(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit seed from any strings and numbers (FNV-1a over their text), so each item has its own stream. */
export function seedFrom(...parts: ReadonlyArray<string | number>): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join('\u0000')) {
    h ^= ch.codePointAt(0)!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The seeded stream with the draws the renderer and augmentation need. */
export class Rng {
  readonly next: Random;

  /** A number seeds the stream directly; a string is hashed to one (seedFrom). */
  constructor(seed: number | string) {
    this.next = createRng(typeof seed === 'number' ? seed : seedFrom(seed));
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    return (this.next() * 4294967296) >>> 0;
  }

  /** Integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Integer in [lo, hi], both ends included. */
  int(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick: empty list');
    return items[this.below(items.length)]!;
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
}

/**
 * Runs `fn` with Math.random drawing from a seeded stream. tfjs takes the seed of every
 * random op that is given none from Math.random — the layers' weight initialisers, dropout,
 * stochastic depth — and those ops take no seed through tfjs-layers' training call, so this
 * is the one place their draws can be pinned. Restored afterwards, even when `fn` throws;
 * `fn` must be synchronous (an await would let other code draw from the seeded stream).
 */
export function withSeededMathRandom<T>(seed: number, fn: () => T): T {
  const original = Math.random;
  Math.random = createRng(seed);
  try {
    const out = fn();
    if (out instanceof Promise) throw new Error('withSeededMathRandom: fn must be synchronous');
    return out;
  } finally {
    Math.random = original;
  }
}
