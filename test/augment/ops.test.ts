import { describe, expect, it } from 'vitest';
import {
  brightnessContrast, coarseDropout, flipHorizontal, gaussianBlur, gaussNoise, hueSaturationValue, rotate90, shiftScaleRotate,
} from '../../src/ml/augment/ops.ts';
import { gaussianBlurSharp, SHARP_BLUR_MIN_SIZE } from '../../src/ml/augment/sharp-ops.ts';

const S = 16;
/** An image whose every value says where it is: r = x * 10, g = y * 10, b = 7. */
function ramp(): Uint8Array {
  const img = new Uint8Array(S * S * 3);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) img.set([x * 10, y * 10, 7], (y * S + x) * 3);
  return img;
}
const px = (img: Uint8Array, y: number, x: number) => Array.from(img.subarray((y * S + x) * 3, (y * S + x) * 3 + 3));
const mean = (img: Uint8Array) => img.reduce((a, v) => a + v, 0) / img.length;
const std = (img: Uint8Array) => { const m = mean(img); return Math.sqrt(img.reduce((a, v) => a + (v - m) ** 2, 0) / img.length); };
const flat = (v: number) => new Uint8Array(S * S * 3).fill(v);

describe('augmentation kernels', () => {
  it('horizontal flip mirrors each row', () => {
    const out = flipHorizontal(ramp(), S);
    expect(px(out, 3, 0)).toEqual(px(ramp(), 3, S - 1));
    expect(px(out, 5, 4)).toEqual([(S - 1 - 4) * 10, 50, 7]);
  });

  it('rotate90 turns counter-clockwise like np.rot90 and four turns are the identity', () => {
    const once = rotate90(ramp(), S, 1);
    // np.rot90: the top-right corner goes to the top-left.
    expect(px(once, 0, 0)).toEqual(px(ramp(), 0, S - 1));
    expect(px(rotate90(ramp(), S, 2), 0, 0)).toEqual(px(ramp(), S - 1, S - 1));
    let img = ramp();
    for (let i = 0; i < 4; i++) img = rotate90(img, S, 1);
    expect(img).toEqual(ramp());
    expect(rotate90(rotate90(ramp(), S, 1), S, 3)).toEqual(ramp());
  });

  it('shift-scale-rotate with no change is the identity and a shift moves pixels by the fraction given', () => {
    expect(shiftScaleRotate(ramp(), S, 0, 1, 0, 0)).toEqual(ramp());
    const shifted = shiftScaleRotate(ramp(), S, 0, 1, 0.25, 0); // 4 px to the right
    expect(px(shifted, 2, 10)).toEqual(px(ramp(), 2, 6));
    // Reflect-101 border: the column left of x = 0 mirrors x = 1, no black fill.
    expect(px(shifted, 2, 0)).toEqual(px(ramp(), 2, 4));
  });

  it('a 90-degree rotation by affine matches rotate90 away from the border', () => {
    const viaAffine = shiftScaleRotate(ramp(), S + 0, 90, 1, 0, 0);
    const exact = rotate90(ramp(), S, 1);
    // getRotationMatrix2D rotates about (S/2, S/2), rot90 about ((S-1)/2, …): one pixel apart.
    expect(px(viaAffine, 5, 6)).toEqual(px(exact, 4, 6));
  });

  it('brightness shifts the mean and contrast widens the spread', () => {
    const img = ramp();
    const brighter = brightnessContrast(img.slice(), 1, 0.1);
    expect(mean(brighter) - mean(img)).toBeGreaterThan(20);
    const contrasty = brightnessContrast(img.slice(), 1.2, 0);
    expect(std(contrasty)).toBeGreaterThan(std(img) * 1.1);
    expect(brightnessContrast(flat(250), 1, 0.2)).toEqual(flat(255)); // clipped, not wrapped
  });

  it('hue shift turns red towards yellow; value shift brightens; grey stays grey under hue', () => {
    const red = new Uint8Array(S * S * 3);
    for (let i = 0; i < red.length; i += 3) red.set([200, 0, 0], i);
    const shifted = hueSaturationValue(red.slice(), 10, 0, 0); // +20 degrees
    expect(px(shifted, 0, 0)[0]).toBe(200);
    expect(px(shifted, 0, 0)[1]).toBeGreaterThan(50);
    expect(mean(hueSaturationValue(flat(100), 0, 0, 20))).toBe(120);
    expect(hueSaturationValue(flat(100), 10, 0, 0)).toEqual(flat(100));
    expect(hueSaturationValue(red.slice(), 0, 0, 0)).toEqual(red); // no shift, no drift
  });

  it('gaussian noise spreads values by about sigma and keeps the mean', () => {
    const noisy = gaussNoise(flat(128), 6, 12345, 7919);
    expect(std(noisy)).toBeGreaterThan(4.5);
    expect(std(noisy)).toBeLessThan(7.5);
    expect(Math.abs(mean(noisy) - 128)).toBeLessThan(1);
    expect(gaussNoise(flat(128), 6, 1, 3)).not.toEqual(noisy); // another walk, other noise
  });

  it('gaussian blur softens an edge and leaves a flat image flat', () => {
    expect(gaussianBlur(flat(90), S, 5)).toEqual(flat(90));
    const edge = new Uint8Array(S * S * 3);
    for (let y = 0; y < S; y++) for (let x = S / 2; x < S; x++) edge.set([255, 255, 255], (y * S + x) * 3);
    const blurred = gaussianBlur(edge.slice(), S, 5);
    const left = px(blurred, 4, S / 2 - 1)[0]!, right = px(blurred, 4, S / 2)[0]!;
    expect(left).toBeGreaterThan(0);
    expect(right).toBeLessThan(255);
    expect(px(blurred, 4, 0)[0]).toBe(0);
  });

  it('the sharp blur used on large images also softens an edge and leaves a flat image flat', async () => {
    const n = SHARP_BLUR_MIN_SIZE;
    const flatBig = new Uint8Array(n * n * 3).fill(90);
    expect(await gaussianBlurSharp(flatBig, n, 5)).toEqual(flatBig);
    const edge = new Uint8Array(n * n * 3);
    for (let y = 0; y < n; y++) edge.fill(255, (y * n + n / 2) * 3, (y + 1) * n * 3);
    const blurred = await gaussianBlurSharp(edge, n, 5);
    const at = (x: number) => blurred[(4 * n + x) * 3]!;
    expect([at(0), at(n / 2 - 3)]).toEqual([0, 0]);
    expect(at(n / 2 - 1)).toBeGreaterThan(0);
    expect(at(n / 2)).toBeLessThan(255);
    expect(at(n - 1)).toBe(255);
  });

  it('coarse dropout zeroes exactly the squares asked for', () => {
    const out = coarseDropout(flat(200), S, [{ y: 2, x: 3, side: 4 }]);
    expect(px(out, 2, 3)).toEqual([0, 0, 0]);
    expect(px(out, 5, 6)).toEqual([0, 0, 0]);
    expect(px(out, 6, 6)).toEqual([200, 200, 200]);
    expect(px(out, 2, 7)).toEqual([200, 200, 200]);
    expect(out.filter((v) => v === 0).length).toBe(4 * 4 * 3);
  });
});
