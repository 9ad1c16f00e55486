// The augmentation kernels on raw uint8 RGB HWC square images (size x size x 3). Each takes
// its parameters explicitly (drawn by plan.ts) and writes a new buffer or works in place.
//
// Why raw buffers and not one sharp call per op: a sharp round trip costs ~1.2 ms of CPU
// whatever the size (bench/augment-ops.ts) while OpenCV does the whole chain at 64 px in
// ~0.3-0.7 ms; sharp stays where it wins (decode, resize, PNG, and the blur from 96 px up,
// see sharp-ops.ts). Semantics follow OpenCV/albumentations.
import { createRng } from '../random.ts';

/** np.rot90(img, k): k quarter turns counter-clockwise. */
export function rotate90(src: Uint8Array, size: number, k: number): Uint8Array {
  const q = ((k % 4) + 4) % 4;
  if (q === 0) return src.slice();
  const out = new Uint8Array(src.length);
  const n1 = size - 1;
  // Walk the output row by row; the source pixel moves by a fixed step along each row.
  for (let y = 0; y < size; y++) {
    // Source of (y, 0) and the source step per output x, in pixels.
    const [s0, step] = q === 1 ? [n1 - y, size] : q === 2 ? [(n1 - y) * size + n1, -1] : [n1 * size + y, -size];
    let s = s0 * 3;
    const st = step * 3;
    for (let d = y * size * 3, end = d + size * 3; d < end; d += 3, s += st) {
      out[d] = src[s]!; out[d + 1] = src[s + 1]!; out[d + 2] = src[s + 2]!;
    }
  }
  return out;
}

/** Mirror left-right. */
export function flipHorizontal(src: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let y = 0; y < size; y++) {
    const row = y * size * 3;
    for (let x = 0; x < size; x++) {
      const d = row + x * 3, s = row + (size - 1 - x) * 3;
      out[d] = src[s]!; out[d + 1] = src[s + 1]!; out[d + 2] = src[s + 2]!;
    }
  }
  return out;
}

/** OpenCV's BORDER_REFLECT_101 index (…2 1 | 0 1 2 … n-1 | n-2 …). */
function reflect101(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n - 2;
  let j = i % period;
  if (j < 0) j += period;
  return j < n ? j : period - j;
}

/**
 * ShiftScaleRotate as cv2.getRotationMatrix2D(centre, angle, scale) + shift, sampled
 * bilinearly with reflect-101 borders (cv2.warpAffine's BORDER_REFLECT_101).
 * `angleDeg` counter-clockwise; `shiftX/Y` as fractions of the side.
 */
export function shiftScaleRotate(src: Uint8Array, size: number, angleDeg: number, scale: number, shiftX: number, shiftY: number): Uint8Array {
  const rad = (angleDeg * Math.PI) / 180;
  const a = scale * Math.cos(rad), b = scale * Math.sin(rad);
  const c = size / 2;
  // Forward map: x' = a x + b y + tx, y' = -b x + a y + ty.
  const tx = (1 - a) * c - b * c + shiftX * size;
  const ty = b * c + (1 - a) * c + shiftY * size;
  // Inverse of [[a, b], [-b, a]] is [[a, -b], [b, a]] / (a² + b²).
  const det = a * a + b * b;
  const ia = a / det, ib = b / det;
  const out = new Uint8Array(src.length);
  const last = size - 1;
  for (let y = 0; y < size; y++) {
    const dy = y - ty;
    // Source position of (y, x) is linear in x: start at x = 0 and step by (ia, ib).
    let sx = -ia * tx - ib * dy;
    let sy = -ib * tx + ia * dy;
    for (let d = y * size * 3, end = d + size * 3; d < end; d += 3, sx += ia, sy += ib) {
      const x0 = Math.floor(sx), y0 = Math.floor(sy);
      const fx = sx - x0, fy = sy - y0;
      let xa = x0, xb = x0 + 1, ya = y0, yb = y0 + 1;
      if (x0 < 0 || y0 < 0 || x0 >= last || y0 >= last) {
        xa = reflect101(x0, size); xb = reflect101(x0 + 1, size);
        ya = reflect101(y0, size); yb = reflect101(y0 + 1, size);
      }
      const p00 = (ya * size + xa) * 3, p01 = (ya * size + xb) * 3, p10 = (yb * size + xa) * 3, p11 = (yb * size + xb) * 3;
      const w11 = fx * fy, w01 = fx - w11, w10 = fy - w11, w00 = 1 - fx - fy + w11;
      // A convex combination of bytes stays in 0..255: + 0.5 and truncate rounds it.
      out[d] = src[p00]! * w00 + src[p01]! * w01 + src[p10]! * w10 + src[p11]! * w11 + 0.5;
      out[d + 1] = src[p00 + 1]! * w00 + src[p01 + 1]! * w01 + src[p10 + 1]! * w10 + src[p11 + 1]! * w11 + 0.5;
      out[d + 2] = src[p00 + 2]! * w00 + src[p01 + 2]! * w01 + src[p10 + 2]! * w10 + src[p11 + 2]! * w11 + 0.5;
    }
  }
  return out;
}

/** v -> v * alpha + beta * 255, clipped (albumentations' RandomBrightnessContrast, by max). In place. */
export function brightnessContrast(img: Uint8Array, alpha: number, beta: number): Uint8Array {
  const lut = new Uint8ClampedArray(256);
  for (let v = 0; v < 256; v++) lut[v] = Math.round(v * alpha + beta * 255);
  for (let i = 0; i < img.length; i++) img[i] = lut[img[i]!]!;
  return img;
}

/** 60 / d and 255 / d for d = 0..255, so the per-pixel HSV conversion has no division. */
const HUE_DIV = Float64Array.from({ length: 256 }, (_, d) => (d ? 60 / d : 0));
const SAT_DIV = Float64Array.from({ length: 256 }, (_, d) => (d ? 255 / d : 0));

/**
 * HueSaturationValue in OpenCV's 8-bit HSV (hue 0..179): hue rotated by `dh`, saturation
 * and value shifted by `ds`, `dv` and clipped. In place.
 */
export function hueSaturationValue(img: Uint8Array, dh: number, ds: number, dv: number): Uint8Array {
  for (let i = 0; i < img.length; i += 3) {
    const r = img[i]!, g = img[i + 1]!, b = img[i + 2]!;
    const max = r > g ? (r > b ? r : b) : g > b ? g : b;
    const min = r < g ? (r < b ? r : b) : g < b ? g : b;
    const delta = max - min;
    let h = 0;
    if (delta > 0) {
      const k = HUE_DIV[delta]!;
      if (max === r) h = (g - b) * k;
      else if (max === g) h = 120 + (b - r) * k;
      else h = 240 + (r - g) * k;
      if (h < 0) h += 360;
    }
    // OpenCV rounds H to 0..179 (degrees / 2) and S to 0..255 before the shift.
    let h8 = ((h * 0.5 + 0.5) | 0) + dh;
    h8 = h8 >= 180 ? h8 - 180 : h8 < 0 ? h8 + 180 : h8;
    let s8 = ((delta * SAT_DIV[max]!) + 0.5) | 0;
    s8 = s8 + ds < 0 ? 0 : s8 + ds > 255 ? 255 : s8 + ds;
    const v8 = max + dv < 0 ? 0 : max + dv > 255 ? 255 : max + dv;
    // Back to RGB from (h8 * 2 degrees, s8 / 255, v8).
    const hh = h8 / 30;
    const sector = hh | 0;
    const f = hh - sector;
    const vs = v8 * (s8 / 255);
    const p = v8 - vs + 0.5, q = v8 - vs * f + 0.5, t = v8 - vs * (1 - f) + 0.5, v = v8 + 0.5;
    let rr: number, gg: number, bb: number;
    switch (sector) {
      case 0: rr = v; gg = t; bb = p; break;
      case 1: rr = q; gg = v; bb = p; break;
      case 2: rr = p; gg = v; bb = t; break;
      case 3: rr = p; gg = q; bb = v; break;
      case 4: rr = t; gg = p; bb = v; break;
      default: rr = v; gg = p; bb = q; break;
    }
    // Values are in 0..255.5: truncation rounds.
    img[i] = rr; img[i + 1] = gg; img[i + 2] = bb;
  }
  return img;
}

/** 2^16 standard normals, made once: noise reads them from a random start with a random odd stride. */
const NORMAL_TABLE_BITS = 16;
let normalTable: Float32Array | undefined;
function normals(): Float32Array {
  if (!normalTable) {
    normalTable = new Float32Array(1 << NORMAL_TABLE_BITS);
    // A fixed seed (not Math.random) keeps variants reproducible.
    const u = createRng(0x9e3779b9);
    for (let i = 0; i < normalTable.length; i += 2) {
      const r = Math.sqrt(-2 * Math.log(1 - u())), th = 2 * Math.PI * u();
      normalTable[i] = r * Math.cos(th);
      normalTable[i + 1] = r * Math.sin(th);
    }
  }
  return normalTable;
}

/**
 * Adds zero-mean Gaussian noise of standard deviation `sigma` to every value, clipped.
 * `start` and `stride` (odd) pick the table walk, so each variant gets its own noise. In place.
 */
export function gaussNoise(img: Uint8Array, sigma: number, start: number, stride: number): Uint8Array {
  const table = normals();
  const mask = table.length - 1;
  const step = stride | 1;
  let j = start & mask;
  const clamped = new Uint8ClampedArray(img.buffer, img.byteOffset, img.length);
  for (let i = 0; i < img.length; i++) {
    clamped[i] = img[i]! + sigma * table[j]!;
    j = (j + step) & mask;
  }
  return img;
}

/** OpenCV's sigma for a k x k Gaussian when sigma is 0. */
export function opencvSigma(k: number): number {
  return 0.3 * ((k - 1) * 0.5 - 1) + 0.8;
}

/**
 * Separable k x k Gaussian blur, reflect-101 borders (cv2.GaussianBlur with sigma 0), in
 * 8-bit fixed point per pass as OpenCV does for uint8 images. In place.
 */
export function gaussianBlur(img: Uint8Array, size: number, k: number): Uint8Array {
  const sigma = opencvSigma(k);
  const r = (k - 1) / 2;
  const g = Array.from({ length: k }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const total = g.reduce((a, v) => a + v, 0);
  // Integer weights summing to exactly 256 (the remainder goes to the centre tap).
  const w = Int32Array.from(g, (v) => Math.round((v / total) * 256));
  w[r] = w[r]! + 256 - w.reduce((a, v) => a + v, 0);
  const row = size * 3;
  const tmp = new Uint16Array(img.length); // pixel * 256 fits in 16 bits
  // Horizontal: each row copied with its reflected borders, then a plain sliding sum.
  const padded = new Uint8Array((size + 2 * r) * 3);
  for (let y = 0; y < size; y++) {
    const base = y * row;
    for (let p = 0; p < size + 2 * r; p++) {
      const sp = base + reflect101(p - r, size) * 3;
      padded[p * 3] = img[sp]!; padded[p * 3 + 1] = img[sp + 1]!; padded[p * 3 + 2] = img[sp + 2]!;
    }
    for (let v = 0; v < row; v++) {
      let acc = 0;
      for (let i = 0; i < k; i++) acc += padded[v + i * 3]! * w[i]!;
      tmp[base + v] = acc;
    }
  }
  // Vertical: whole rows at a time, each tap adding a (reflected) source row.
  const acc = new Int32Array(row);
  for (let y = 0; y < size; y++) {
    acc.fill(32768); // rounding for the final >> 16
    for (let i = 0; i < k; i++) {
      const src = reflect101(y + i - r, size) * row, wi = w[i]!;
      for (let v = 0; v < row; v++) acc[v] = acc[v]! + tmp[src + v]! * wi;
    }
    const base = y * row;
    for (let v = 0; v < row; v++) img[base + v] = acc[v]! >> 16;
  }
  return img;
}

/** A square hole: top-left corner and side, in pixels. */
export interface Hole { y: number; x: number; side: number }

/** Sets each hole's pixels to 0 (albumentations' CoarseDropout, fill 0). In place. */
export function coarseDropout(img: Uint8Array, size: number, holes: readonly Hole[]): Uint8Array {
  for (const { y, x, side } of holes) {
    for (let yy = y; yy < Math.min(size, y + side); yy++) {
      img.fill(0, (yy * size + x) * 3, (yy * size + Math.min(size, x + side)) * 3);
    }
  }
  return img;
}
