// Assigns images to train/val/test by a salted hash of their content: stable when images are added.
import { createHash } from 'node:crypto';
import type { SplitConfig } from './data-config.ts';

export type Split = 'train' | 'val' | 'test';
export const SPLITS: readonly Split[] = ['train', 'val', 'test'];

/**
 * The split of an image with content hash `sha256`. It depends on nothing but the image and
 * the salt, so adding, removing or renaming other captures never moves it, and byte-identical
 * copies (a capture saved twice) always land together, never one in train and one in test.
 * Per part (and color) the fractions hold in expectation; filter rules check the minimums.
 */
export function assignSplit(sha256: string, config: SplitConfig): Split {
  const digest = createHash('sha256').update(`${config.salt}\u0000${sha256}`).digest();
  const u = digest.readUInt32BE(0) / 2 ** 32;
  if (u < config.train) return 'train';
  if (u < config.train + config.val) return 'val';
  return 'test';
}
