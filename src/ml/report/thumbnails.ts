/** Writes small PNG thumbnails of test images (uint8 RGB HWC, as the augment cache holds them). */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import sharp from 'sharp';

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Scales the image to fit a `size` x `size` box (never enlarging past 2x) and writes a PNG. */
export async function writeThumbnail(image: RgbImage, file: string, size = 112): Promise<void> {
  if (image.data.length !== image.width * image.height * 3) {
    throw new Error(`thumbnail ${file}: ${image.data.length} bytes is not ${image.width}x${image.height} RGB`);
  }
  const scale = Math.min(size / image.width, size / image.height, 2);
  await mkdir(dirname(file), { recursive: true });
  await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(Math.max(1, Math.round(image.width * scale)), Math.max(1, Math.round(image.height * scale)), { fit: 'fill' })
    .png()
    .toFile(file);
}
