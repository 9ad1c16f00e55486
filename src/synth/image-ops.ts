// Pixel operations on float RGB images (0..1, 3 per pixel): backgrounds, shadows, camera effects.
import type { Frame, Rgb } from './rasterizer.ts';
import type { Rng } from '../ml/random.ts';

/** A float RGB image, 0..1. */
export interface Image {
  size: number;
  rgb: Float32Array;
}

export function solid(size: number, c: Rgb): Image {
  const rgb = new Float32Array(size * size * 3);
  for (let i = 0; i < rgb.length; i += 3) {
    rgb[i] = c[0];
    rgb[i + 1] = c[1];
    rgb[i + 2] = c[2];
  }
  return { size, rgb };
}

/** Smooth value noise in 0..1 with `cells` lattice cells across the image. */
export function valueNoise(size: number, cells: number, rng: Rng): Float32Array {
  const n = cells + 1;
  const lattice = Float32Array.from({ length: n * n }, () => rng.next());
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const fx = (x / size) * cells, fy = (y / size) * cells;
      const ix = Math.floor(fx), iy = Math.floor(fy);
      const tx = smooth(fx - ix), ty = smooth(fy - iy);
      const a = lattice[iy * n + ix]!, b = lattice[iy * n + ix + 1]!;
      const c = lattice[(iy + 1) * n + ix]!, d = lattice[(iy + 1) * n + ix + 1]!;
      out[y * size + x] = (a + (b - a) * tx) * (1 - ty) + (c + (d - c) * tx) * ty;
    }
  return out;
}

const smooth = (t: number): number => t * t * (3 - 2 * t);

/** Separable box blur of a single-channel image (used for soft shadows). */
export function boxBlur(src: Float32Array, size: number, radius: number): Float32Array {
  if (radius < 1) return src;
  const tmp = new Float32Array(size * size);
  const out = new Float32Array(size * size);
  const span = 2 * radius + 1;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      let s = 0;
      for (let k = -radius; k <= radius; k++) s += src[y * size + Math.min(size - 1, Math.max(0, x + k))]!;
      tmp[y * size + x] = s / span;
    }
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      let s = 0;
      for (let k = -radius; k <= radius; k++) s += tmp[Math.min(size - 1, Math.max(0, y + k)) * size + x]!;
      out[y * size + x] = s / span;
    }
  return out;
}

/** Darkens the background under a blurred, shifted copy of the part's silhouette. */
export function dropShadow(bg: Image, coverage: Float32Array, dx: number, dy: number, radius: number, strength: number): void {
  const { size } = bg;
  const shifted = new Float32Array(size * size);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const sx = Math.round(x - dx), sy = Math.round(y - dy);
      if (sx >= 0 && sy >= 0 && sx < size && sy < size) shifted[y * size + x] = coverage[sy * size + sx]!;
    }
  const soft = boxBlur(shifted, size, radius);
  for (let i = 0; i < size * size; i++) {
    const k = 1 - strength * soft[i]!;
    bg.rgb[i * 3]! *= k;
    bg.rgb[i * 3 + 1]! *= k;
    bg.rgb[i * 3 + 2]! *= k;
  }
}

/** Puts a premultiplied frame over a background ("over" compositing). */
export function composite(frame: Frame, bg: Image): Image {
  const rgb = new Float32Array(bg.rgb.length);
  for (let i = 0; i < frame.size * frame.size; i++) {
    const a = frame.coverage[i]!;
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = frame.color[i * 3 + c]! + (1 - a) * bg.rgb[i * 3 + c]!;
  }
  return { size: bg.size, rgb };
}

/** Camera-like effects: white-balance tint, exposure, vignette and sensor noise, in place. */
export function cameraEffects(img: Image, tint: Rgb, exposure: number, vignette: number, noiseSigma: number, rng: Rng): void {
  const { size } = img;
  const half = size / 2;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const r2 = ((x + 0.5 - half) ** 2 + (y + 0.5 - half) ** 2) / (2 * half * half);
      const gain = exposure * (1 - vignette * r2);
      const i = (y * size + x) * 3;
      for (let c = 0; c < 3; c++) img.rgb[i + c] = img.rgb[i + c]! * tint[c]! * gain + noiseSigma * rng.normal();
    }
}

/** Quantises to 8-bit RGB for encoding. */
export function toBytes(img: Image): Buffer {
  const out = Buffer.alloc(img.rgb.length);
  for (let i = 0; i < img.rgb.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, img.rgb[i]!)) * 255);
  return out;
}
