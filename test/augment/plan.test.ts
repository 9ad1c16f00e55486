import { describe, expect, it } from 'vitest';
import { defaultAugmentConfig, parseAugmentConfig, type AugmentOps } from '../../src/ml/augment/config.ts';
import { blobKey } from '../../src/ml/augment/cache-key.ts';
import { applyPlan, augmentVariants, planVariant } from '../../src/ml/augment/plan.ts';
import { Rng } from '../../src/ml/random.ts';

const S = 32;
const image = Uint8Array.from({ length: S * S * 3 }, (_, i) => (i * 37) % 251);
const ops = (): AugmentOps => structuredClone(defaultAugmentConfig().ops);
const withAll = (p: number): AugmentOps => {
  const o = ops();
  for (const op of Object.values(o)) op.p = p;
  return o;
};

describe('variant plans', () => {
  it('the same seed gives the same bytes; another variant index gives others', async () => {
    const a = await augmentVariants(image, S, withAll(0.7), 1234, 'abc', 4);
    const b = await augmentVariants(image, S, withAll(0.7), 1234, 'abc', 4);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const bytes = S * S * 3;
    expect(Buffer.from(a.subarray(0, bytes)).equals(Buffer.from(a.subarray(bytes, 2 * bytes)))).toBe(false);
    const otherSeed = await augmentVariants(image, S, withAll(0.7), 99, 'abc', 4);
    expect(Buffer.from(a).equals(Buffer.from(otherSeed))).toBe(false);
  });

  it('with every probability 0 a variant is the resized image, and the input is never modified', async () => {
    const before = image.slice();
    expect(await augmentVariants(image, S, withAll(0), 1, 'x', 2)).toEqual(new Uint8Array([...image, ...image]));
    await applyPlan(image, S, planVariant(withAll(1), S, new Rng('y')));
    const big = Uint8Array.from({ length: 128 * 128 * 3 }, (_, i) => (i * 37) % 251);
    const bigBefore = big.slice();
    await applyPlan(big, 128, planVariant(withAll(1), 128, new Rng('y'))); // the sharp blur path
    expect(big).toEqual(bigBefore);
    expect(image).toEqual(before);
  });

  it('with every probability 1 each op of the plan fires, in the plan order', () => {
    expect(planVariant(withAll(1), S, new Rng('z')).map((s) => s.op)).toEqual([
      'rotate90', 'horizontal_flip', 'shift_scale_rotate', 'brightness_contrast', 'hue_saturation_value',
      'gauss_noise', 'gaussian_blur', 'coarse_dropout',
    ]);
  });

  it('parameters stay inside the configured limits', () => {
    const o = withAll(1);
    for (let i = 0; i < 200; i++) {
      for (const step of planVariant(o, 224, new Rng(`limits${i}`))) {
        if (step.op === 'shift_scale_rotate') {
          expect(Math.abs(step.angleDeg)).toBeLessThanOrEqual(15);
          expect(Math.abs(step.scale - 1)).toBeLessThanOrEqual(0.2);
          expect(Math.max(Math.abs(step.shiftX), Math.abs(step.shiftY))).toBeLessThanOrEqual(0.1);
        } else if (step.op === 'gauss_noise') {
          expect(step.sigma ** 2).toBeGreaterThanOrEqual(10);
          expect(step.sigma ** 2).toBeLessThanOrEqual(50);
        } else if (step.op === 'coarse_dropout') {
          expect(step.holes.length).toBeGreaterThanOrEqual(1);
          expect(step.holes.length).toBeLessThanOrEqual(8);
          expect(step.holes.every((h) => h.side === 20)).toBe(true); // 20 px at 224
        } else if (step.op === 'gaussian_blur') {
          expect([3, 5]).toContain(step.k);
        }
      }
    }
  });

  it('dropout holes scale with the input size (20 px at 224 -> 6 px at 64)', () => {
    const step = planVariant(withAll(1), 64, new Rng('h')).find((s) => s.op === 'coarse_dropout');
    expect(step && step.op === 'coarse_dropout' && step.holes[0]!.side).toBe(6);
  });

  it('turning one op off leaves the other ops parameters as they were', () => {
    const on = planVariant(withAll(1), S, new Rng('same'));
    const o = withAll(1);
    o.horizontal_flip.p = 0;
    const off = planVariant(o, S, new Rng('same'));
    expect(off).toEqual(on.filter((s) => s.op !== 'horizontal_flip'));
  });
});

describe('augment settings', () => {
  it('an empty section gives the plan defaults', () => {
    const c = defaultAugmentConfig();
    expect(c.variants).toBe(4);
    expect(c.ops.shift_scale_rotate).toEqual({ p: 0.5, shift: 0.1, scale: 0.2, rotate_deg: 15 });
    expect(c.source_weights).toEqual({ evaluated: 3, default: 1 });
  });

  it('a bad value is named by its key', () => {
    const r = parseAugmentConfig({ ops: { gauss_noise: { p: 1.5 } }, varients: 3 }, 'config/augment.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toContain('config/augment.yaml');
      expect(r.message).toContain('augment.ops.gauss_noise.p');
      expect(r.message).toContain('unknown key "varients" in augment');
    }
    const swapped = parseAugmentConfig({ ops: { gauss_noise: { var_min: 60, var_max: 50 } } });
    expect(!swapped.ok && swapped.message).toContain('var_min (60) is above var_max (50)');
  });

  it("the training profile's probability_scale multiplies every op's p (at most 1), and the augmented blobs' keys follow it", () => {
    const raw = { profiles: { cpu: { probability_scale: 0.5 }, gpu: {} } };
    const cpu = parseAugmentConfig(raw, 'config/augment.yaml', 'cpu');
    const gpu = parseAugmentConfig(raw, 'config/augment.yaml', 'gpu');
    if (!cpu.ok || !gpu.ok) throw new Error('expected both to parse');
    expect(cpu.config.probability_scale).toBe(0.5);
    expect(cpu.config.ops.rotate90.p).toBe(0.25);
    expect(cpu.config.ops.hue_saturation_value.p).toBe(0.15);
    expect(cpu.config.ops.gaussian_blur.p).toBe(0.1);
    expect(cpu.config.ops.shift_scale_rotate.rotate_deg).toBe(15); // only probabilities change
    expect(gpu.config.ops).toEqual(defaultAugmentConfig().ops); // no override: the base scale, 1
    const strong = parseAugmentConfig({ probability_scale: 4 });
    expect(strong.ok && strong.config.ops.rotate90.p).toBe(1);
    expect(blobKey('augmented', 'abc', 64, cpu.config)).not.toBe(blobKey('augmented', 'abc', 64, gpu.config));
    expect(blobKey('resized', 'abc', 64, cpu.config)).toBe(blobKey('resized', 'abc', 64, gpu.config));
    const unknown = parseAugmentConfig(raw, 'config/augment.yaml', 'edge');
    expect(!unknown.ok && unknown.message).toContain("profile 'edge' (config/training.yaml) has no entry under augment.profiles (has: cpu, gpu)");
    const bad = parseAugmentConfig({ profiles: { cpu: { probability_scale: -1, variants: 2 } } }, 'config/augment.yaml', 'cpu');
    expect(!bad.ok && bad.message).toContain('augment.profiles.cpu');
  });
});
