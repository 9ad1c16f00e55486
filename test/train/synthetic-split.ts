/**
 * Tiny synthetic data for the model and train tests: coloured shapes on white, where the
 * shape is the "part" and the fill the "color", built in memory as a CachedSplit would be.
 */
import type { TrainingSplit } from '../../src/ml/train/batch.ts';
import { createRng } from '../../src/ml/random.ts';

export const SHAPES = ['square', 'disc', 'bar', 'cross'] as const;
export const FILLS: [number, number, number][] = [[200, 30, 30], [30, 160, 40], [40, 60, 210]];

function inside(shape: (typeof SHAPES)[number], dx: number, dy: number, r: number): boolean {
  switch (shape) {
    case 'square': return Math.abs(dx) <= r && Math.abs(dy) <= r;
    case 'disc': return dx * dx + dy * dy <= r * r;
    case 'bar': return Math.abs(dx) <= r && Math.abs(dy) <= r / 3;
    case 'cross': return (Math.abs(dx) <= r / 4 && Math.abs(dy) <= r) || (Math.abs(dy) <= r / 4 && Math.abs(dx) <= r);
  }
}

/** `n` images of `size`², parts/colors cycling; `unknownColorEvery` marks every k-th color unknown. */
export function syntheticSplit(n: number, size: number, seed: number, opts: { sources?: string[]; unknownColorEvery?: number } = {}): TrainingSplit & { path: string[] } {
  const rng = createRng(seed);
  const images = new Uint8Array(n * size * size * 3);
  const partIndex = new Int32Array(n);
  const colorIndex = new Int32Array(n);
  const sources = opts.sources ?? ['real'];
  const source: string[] = [];
  for (let i = 0; i < n; i++) {
    const part = i % SHAPES.length;
    const color = Math.floor(i / SHAPES.length) % FILLS.length;
    partIndex[i] = part;
    colorIndex[i] = opts.unknownColorEvery && i % opts.unknownColorEvery === 0 ? -1 : color;
    source.push(sources[i % sources.length]!);
    const r = size * (0.22 + 0.1 * rng());
    const cx = size / 2 + (rng() - 0.5) * size * 0.2;
    const cy = size / 2 + (rng() - 0.5) * size * 0.2;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const o = ((i * size + y) * size + x) * 3;
        const on = inside(SHAPES[part]!, x - cx, y - cy, r);
        for (let ch = 0; ch < 3; ch++) {
          const base = on ? FILLS[color]![ch]! : 245;
          images[o + ch] = Math.max(0, Math.min(255, Math.round(base + (rng() - 0.5) * 30)));
        }
      }
    }
  }
  return { n, height: size, width: size, images, partIndex, colorIndex, source, weight: new Float32Array(n).fill(1), path: source.map((s, i) => `${s}/${i}.png`) };
}
