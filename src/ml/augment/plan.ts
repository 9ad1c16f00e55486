// One variant's augmentation recipe: which ops fire and with what parameters, drawn from a
// seeded Rng (planVariant), then carried out on a resized image (applyPlan). Keeping the
// draw apart from the pixels makes every variant explainable and the ops testable alone.
import type { AugmentOps } from './config.ts';
import { Rng } from '../random.ts';
import {
  brightnessContrast, coarseDropout, flipHorizontal, gaussianBlur, gaussNoise, hueSaturationValue,
  rotate90, shiftScaleRotate, type Hole,
} from './ops.ts';
import { gaussianBlurSharp, SHARP_BLUR_MIN_SIZE } from './sharp-ops.ts';

export type AugmentStep =
  | { op: 'rotate90'; k: number }
  | { op: 'horizontal_flip' }
  | { op: 'shift_scale_rotate'; angleDeg: number; scale: number; shiftX: number; shiftY: number }
  | { op: 'brightness_contrast'; alpha: number; beta: number }
  | { op: 'hue_saturation_value'; dh: number; ds: number; dv: number }
  | { op: 'gauss_noise'; sigma: number; start: number; stride: number }
  | { op: 'gaussian_blur'; k: number }
  | { op: 'coarse_dropout'; holes: Hole[] };

/**
 * Draws one variant's steps, in the plan's order. Every draw is made whether or not the op
 * fires, so changing one op's probability does not reshuffle the others' parameters.
 */
export function planVariant(ops: AugmentOps, size: number, rng: Rng): AugmentStep[] {
  const steps: AugmentStep[] = [];
  const fire = (p: number) => rng.chance(p);

  const rot = fire(ops.rotate90.p), k = rng.int(1, 3);
  if (rot) steps.push({ op: 'rotate90', k });

  if (fire(ops.horizontal_flip.p)) steps.push({ op: 'horizontal_flip' });

  const ssr = ops.shift_scale_rotate;
  const ssrOn = fire(ssr.p);
  const angleDeg = rng.uniform(-ssr.rotate_deg, ssr.rotate_deg);
  const scale = 1 + rng.uniform(-ssr.scale, ssr.scale);
  const shiftX = rng.uniform(-ssr.shift, ssr.shift), shiftY = rng.uniform(-ssr.shift, ssr.shift);
  if (ssrOn) steps.push({ op: 'shift_scale_rotate', angleDeg, scale, shiftX, shiftY });

  const bc = ops.brightness_contrast;
  const bcOn = fire(bc.p);
  const alpha = 1 + rng.uniform(-bc.contrast, bc.contrast), beta = rng.uniform(-bc.brightness, bc.brightness);
  if (bcOn) steps.push({ op: 'brightness_contrast', alpha, beta });

  const hsv = ops.hue_saturation_value;
  const hsvOn = fire(hsv.p);
  const dh = rng.int(-hsv.hue, hsv.hue), ds = rng.int(-hsv.saturation, hsv.saturation), dv = rng.int(-hsv.value, hsv.value);
  if (hsvOn) steps.push({ op: 'hue_saturation_value', dh, ds, dv });

  const gn = ops.gauss_noise;
  const gnOn = fire(gn.p);
  const sigma = Math.sqrt(rng.uniform(gn.var_min, gn.var_max));
  const start = rng.u32(), stride = rng.u32() | 1;
  if (gnOn) steps.push({ op: 'gauss_noise', sigma, start, stride });

  const blurOn = fire(ops.gaussian_blur.p);
  const blurK = rng.pick(ops.gaussian_blur.kernels);
  if (blurOn) steps.push({ op: 'gaussian_blur', k: blurK });

  const cd = ops.coarse_dropout;
  const cdOn = fire(cd.p);
  const side = Math.max(1, Math.min(size, Math.round((cd.hole_px * size) / cd.hole_px_at)));
  const holes: Hole[] = [];
  const count = rng.int(1, cd.max_holes);
  for (let i = 0; i < cd.max_holes; i++) {
    const y = rng.int(0, size - side), x = rng.int(0, size - side);
    if (i < count) holes.push({ y, x, side });
  }
  if (cdOn) steps.push({ op: 'coarse_dropout', holes });
  return steps;
}

/** Applies the steps to a resized image (never modified); returns the variant. */
export async function applyPlan(resized: Uint8Array, size: number, steps: readonly AugmentStep[]): Promise<Uint8Array> {
  let img: Uint8Array = resized.slice();
  for (const step of steps) {
    switch (step.op) {
      case 'rotate90': img = rotate90(img, size, step.k); break;
      case 'horizontal_flip': img = flipHorizontal(img, size); break;
      case 'shift_scale_rotate': img = shiftScaleRotate(img, size, step.angleDeg, step.scale, step.shiftX, step.shiftY); break;
      case 'brightness_contrast': brightnessContrast(img, step.alpha, step.beta); break;
      case 'hue_saturation_value': hueSaturationValue(img, step.dh, step.ds, step.dv); break;
      case 'gauss_noise': gaussNoise(img, step.sigma, step.start, step.stride); break;
      case 'gaussian_blur':
        if (size >= SHARP_BLUR_MIN_SIZE) img = await gaussianBlurSharp(img, size, step.k);
        else gaussianBlur(img, size, step.k);
        break;
      case 'coarse_dropout': coarseDropout(img, size, step.holes); break;
      default: {
        const never: never = step;
        throw new Error(`unknown augment step ${JSON.stringify(never)}`);
      }
    }
  }
  return img;
}

/** The seed string of variant `index` of the image with content hash `sha256`. */
export function variantSeed(seed: number, sha256: string, index: number): string {
  return `${seed}:${sha256}:${index}`;
}

/** K variants of one resized image, concatenated (K * size * size * 3 bytes). */
export async function augmentVariants(resized: Uint8Array, size: number, ops: AugmentOps, seed: number, sha256: string, k: number): Promise<Uint8Array> {
  const bytes = size * size * 3;
  const out = new Uint8Array(k * bytes);
  for (let i = 0; i < k; i++) {
    const steps = planVariant(ops, size, new Rng(variantSeed(seed, sha256, i)));
    out.set(await applyPlan(resized, size, steps), i * bytes);
  }
  return out;
}
