import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { IMAGENET_MEAN, IMAGENET_STD, normalize, preprocessImage, resizeImage } from '../../src/ml/preprocess.ts';

describe('preprocess', () => {
  it('resizes any image to size x size x 3 uint8 RGB, ignoring the aspect ratio', async () => {
    const png = await sharp({ create: { width: 40, height: 20, channels: 3, background: { r: 10, g: 200, b: 30 } } }).png().toBuffer();
    const out = await resizeImage(png, 8);
    expect(out.length).toBe(8 * 8 * 3);
    expect(Array.from(out.subarray(0, 3))).toEqual([10, 200, 30]);
  });

  it('flattens transparency onto white and turns grey images into RGB', async () => {
    const clear = await sharp({ create: { width: 4, height: 4, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
    expect(Array.from(await resizeImage(clear, 4))).toEqual(new Array(48).fill(255));
    const grey = await sharp(Buffer.alloc(16, 77), { raw: { width: 4, height: 4, channels: 1 } }).png().toBuffer();
    expect(Array.from((await resizeImage(grey, 2)).subarray(0, 3))).toEqual([77, 77, 77]);
  });

  it('rejects bytes that are not an image', async () => {
    await expect(resizeImage(Buffer.from('not an image at all'), 8)).rejects.toThrow();
  });

  it('normalises with ImageNet mean and std per channel', async () => {
    const out = normalize(Uint8Array.from([0, 255, 128]));
    expect(out[0]).toBeCloseTo(-IMAGENET_MEAN[0] / IMAGENET_STD[0], 5);
    expect(out[1]).toBeCloseTo((1 - IMAGENET_MEAN[1]) / IMAGENET_STD[1], 5);
    expect(out[2]).toBeCloseTo((128 / 255 - IMAGENET_MEAN[2]) / IMAGENET_STD[2], 5);
    const png = await sharp({ create: { width: 3, height: 3, channels: 3, background: '#ffffff' } }).png().toBuffer();
    const direct = await preprocessImage(png, 2);
    expect(direct[0]).toBeCloseTo((1 - 0.485) / 0.229, 5);
  });
});
