// The unit of work of the augment cache: one source image -> its blob (K augmented variants,
// or the plain resize for val/test), written atomically. Runs in a worker or in-process.
import { replaceFileSync } from '../../engine/atomic-write.ts';
import type { BlobKind } from './cache-key.ts';
import type { AugmentOps } from './config.ts';
import { augmentVariants } from './plan.ts';
import { resizeImage } from '../preprocess.ts';

export interface BlobTask {
  /** Absolute path of the source image. */
  file: string;
  kind: BlobKind;
  sha256: string;
  size: number;
  variants: number;
  seed: number;
  ops: AugmentOps;
  /** Absolute path of the blob to write. */
  out: string;
}

/** A source that cannot be decoded is an expected outcome, not an exception. */
export type BlobOutcome = { ok: true } | { ok: false; reason: string };

export async function makeBlob(task: BlobTask): Promise<BlobOutcome> {
  let resized: Uint8Array;
  try {
    resized = await resizeImage(task.file, task.size);
  } catch (err) {
    return { ok: false, reason: `cannot decode: ${(err as Error).message.split('\n')[0]}` };
  }
  const pixels = task.kind === 'augmented'
    ? await augmentVariants(resized, task.size, task.ops, task.seed, task.sha256, task.variants)
    : resized;
  replaceFileSync(task.out, pixels);
  return { ok: true };
}
