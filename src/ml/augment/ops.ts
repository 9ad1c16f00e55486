// The augmentation kernels on raw uint8 RGB HWC square images (size x size x 3). Each takes
// its parameters explicitly (drawn by plan.ts) and writes a new buffer or works in place.
//
// Why raw buffers and not one sharp call per op: at 64 px a sharp round trip costs
// 0.25-1.4 ms (bench/augment-ops.ts), OpenCV does the whole chain in ~0.3 ms; sharp stays
// where it earns its keep (decode, resize, PNG). Semantics follow OpenCV/albumentations.

/** np.rot90(img, k): k quarter turns counter-clockwise. */
export function rotate90(src: Uint8Array, size: number, k: number): Uint8Array {
  const q = ((k % 4) + 4) % 4;
  if (q === 0) return src.slice();
  const out = new Uint8Array(src.length);
  const n1 = size - 1;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      // (sy, sx): the source pixel that lands on (y, x).
      let sy: number, sx: number;
      if (q === 1) { sy = x; sx = n1 - y; }
      else if (q === 2) { sy = n1 - y; sx = n1 - x; }
      else { sy = n1 - x; sx = y; }
      const d = (y * size + x) * 3, s = (sy * size + sx) * 3;
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
  for (let y = 0; y < size; y++) {
    const dy = y - ty;
    for (let x = 0; x < size; x++) {
      const dx = x - tx;
      const sx = ia * dx - ib * dy;
      const sy = ib * dx + ia * dy;
      const x0 = Math.floor(sx), y0 = Math.floor(sy);
      const fx = sx - x0, fy = sy - y0;
      const xa = reflect101(x0, size), xb = reflect101(x0 + 1, size);
      const ya = reflect101(y0, size) * size, yb = reflect101(y0 + 1, size) * size;
      const p00 = (ya + xa) * 3, p01 = (ya + xb) * 3, p10 = (yb + xa) * 3, p11 = (yb + xb) * 3;
      const w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
      const d = (y * size + x) * 3;
      for (let ch = 0; ch < 3; ch++) {
        out[d + ch] = Math.round(src[p00 + ch]! * w00 + src[p01 + ch]! * w01 + src[p10 + ch]! * w10 + src[p11 + ch]! * w11);
      }
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
      if (max === r) h = (60 * (g - b)) / delta;
      else if (max === g) h = 120 + (60 * (b - r)) / delta;
      else h = 240 + (60 * (r - g)) / delta;
      if (h < 0) h += 360;
    }
    // OpenCV rounds H to 0..179 (degrees / 2) and S to 0..255 before the shift.
    let h8 = Math.round(h / 2) + dh;
    h8 = ((h8 % 180) + 180) % 180;
    let s8 = max === 0 ? 0 : Math.round((255 * delta) / max);
    s8 = s8 + ds < 0 ? 0 : s8 + ds > 255 ? 255 : s8 + ds;
    const v8 = max + dv < 0 ? 0 : max + dv > 255 ? 255 : max + dv;
    // Back to RGB from (h8 * 2 degrees, s8 / 255, v8).
    const hh = (h8 * 2) / 60;
    const sector = Math.floor(hh) % 6;
    const f = hh - Math.floor(hh);
    const s = s8 / 255;
    const p = v8 * (1 - s), q = v8 * (1 - s * f), t = v8 * (1 - s * (1 - f));
    let rr: number, gg: number, bb: number;
    switch (sector) {
      case 0: rr = v8; gg = t; bb = p; break;
      case 1: rr = q; gg = v8; bb = p; break;
      case 2: rr = p; gg = v8; bb = t; break;
      case 3: rr = p; gg = q; bb = v8; break;
      case 4: rr = t; gg = p; bb = v8; break;
      default: rr = v8; gg = p; bb = q; break;
    }
    img[i] = Math.round(rr); img[i + 1] = Math.round(gg); img[i + 2] = Math.round(bb);
  }
  return img;
}

/** 2^16 standard normals, made once: noise reads them from a random start with a random odd stride. */
const NORMAL_TABLE_BITS = 16;
let normalTable: Float32Array | undefined;
function normals(): Float32Array {
  if (!normalTable) {
    normalTable = new Float32Array(1 << NORMAL_TABLE_BITS);
    // A fixed deterministic source (not Math.random) keeps variants reproducible.
    let state = 0x9e3779b9;
    const u = () => {
      state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
      return ((state >>> 0) + 1) / 4294967297;
    };
    for (let i = 0; i < normalTable.length; i += 2) {
      const r = Math.sqrt(-2 * Math.log(u())), th = 2 * Math.PI * u();
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

/** Separable k x k Gaussian blur, reflect-101 borders (cv2.GaussianBlur with sigma 0). In place. */
export function gaussianBlur(img: Uint8Array, size: number, k: number): Uint8Array {
  const sigma = opencvSigma(k);
  const r = (k - 1) / 2;
  const w = new Float32Array(k);
  let sum = 0;
  for (let i = 0; i < k; i++) { w[i] = Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)); sum += w[i]!; }
  for (let i = 0; i < k; i++) w[i] = w[i]! / sum;
  const tmp = new Float32Array(img.length);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let a0 = 0, a1 = 0, a2 = 0;
      for (let i = 0; i < k; i++) {
        const s = (y * size + reflect101(x + i - r, size)) * 3, wi = w[i]!;
        a0 += img[s]! * wi; a1 += img[s + 1]! * wi; a2 += img[s + 2]! * wi;
      }
      const d = (y * size + x) * 3;
      tmp[d] = a0; tmp[d + 1] = a1; tmp[d + 2] = a2;
    }
  }
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let a0 = 0, a1 = 0, a2 = 0;
      for (let i = 0; i < k; i++) {
        const s = (reflect101(y + i - r, size) * size + x) * 3, wi = w[i]!;
        a0 += tmp[s]! * wi; a1 += tmp[s + 1]! * wi; a2 += tmp[s + 2]! * wi;
      }
      const d = (y * size + x) * 3;
      img[d] = Math.round(a0); img[d + 1] = Math.round(a1); img[d + 2] = Math.round(a2);
    }
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
