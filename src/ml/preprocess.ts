// The model's input preprocessing, in one place: training, evaluation, export parity and
// inference all resize and normalise through this module (docs/contracts.md "Preprocessing").
import sharp from 'sharp';

/** ImageNet channel means and standard deviations, RGB order. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** The background that transparent pixels are flattened onto (white, like the renders). */
const FLATTEN_BACKGROUND = { r: 255, g: 255, b: 255 };

/**
 * Decodes an image (a file path or its encoded bytes), honours its EXIF orientation,
 * flattens alpha onto white and resizes it to `size` x `size` ignoring aspect ratio.
 * Returns uint8 RGB, HWC, `size * size * 3` bytes. Rejects when the image cannot be decoded.
 */
export async function resizeImage(input: string | Buffer, size: number): Promise<Uint8Array> {
  const { data, info } = await sharp(input, { failOn: 'error' })
    .autoOrient()
    .flatten({ background: FLATTEN_BACKGROUND })
    .toColourspace('srgb')
    .resize(size, size, { fit: 'fill' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== size || info.height !== size) {
    throw new Error(`preprocess: expected ${size}x${size}x3, got ${info.width}x${info.height}x${info.channels}`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * uint8 RGB HWC -> float32 HWC `(pixel / 255 - mean) / std`. `out` may be a slice of a
 * batch buffer (length = pixels.length) so callers can fill NHWC tensors without copies.
 */
export function normalize(pixels: Uint8Array, out: Float32Array = new Float32Array(pixels.length)): Float32Array {
  if (out.length !== pixels.length) throw new Error(`normalize: out has ${out.length} values, pixels ${pixels.length}`);
  // Per channel, value = pixel * scale + shift, so the loop is one multiply-add.
  const scale = IMAGENET_STD.map((s) => 1 / (255 * s));
  const shift = IMAGENET_MEAN.map((m, c) => -m / IMAGENET_STD[c]!);
  const [s0, s1, s2] = scale as [number, number, number];
  const [b0, b1, b2] = shift as [number, number, number];
  for (let i = 0; i < pixels.length; i += 3) {
    out[i] = pixels[i]! * s0 + b0;
    out[i + 1] = pixels[i + 1]! * s1 + b1;
    out[i + 2] = pixels[i + 2]! * s2 + b2;
  }
  return out;
}

/** A file straight to the model's input: resized, then normalised (float32 HWC). */
export async function preprocessImage(input: string | Buffer, size: number): Promise<Float32Array> {
  return normalize(await resizeImage(input, size));
}

/** What travels with an exported model so inference preprocesses the same way. */
export interface PreprocessSpec {
  input_size: number;
  mean: readonly number[];
  std: readonly number[];
}

export function preprocessSpec(inputSize: number): PreprocessSpec {
  return { input_size: inputSize, mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] };
}
