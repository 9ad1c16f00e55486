// Augmentations done by sharp (libvips, SIMD) where that beats the raw kernel: a sharp call
// costs ~1.2 ms of CPU whatever the size, so it pays only on larger images
// (bench/augment-ops.ts: k5 blur at 64 px 0.56 ms raw vs 1.2 ms sharp; at 224 px 6 ms vs 1.5 ms).
import sharp from 'sharp';
import { opencvSigma } from './ops.ts';

/** From this side up, the Gaussian blur goes through sharp. */
export const SHARP_BLUR_MIN_SIZE = 96;

/** Gaussian blur with OpenCV's sigma for a k x k kernel (libvips picks the extent, edges copied). */
export async function gaussianBlurSharp(img: Uint8Array, size: number, k: number): Promise<Uint8Array> {
  const out = await sharp(img, { raw: { width: size, height: size, channels: 3 } }).blur(opencvSigma(k)).raw().toBuffer();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
