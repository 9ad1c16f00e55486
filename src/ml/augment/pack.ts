// Packs a split's blobs into one contiguous uint8 file, named by its content's keys, so the
// train stage reads a split with one read and an unchanged split is not rewritten.
import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { replaceFileSync } from '../../engine/atomic-write.ts';
import { blobPath } from './cache-layout.ts';

/** Writes (unless already there) `<split>-<hash>.u8`; returns its file name. */
export function packSplit(cacheDir: string, split: string, blobKeys: readonly string[]): string {
  const tag = createHash('sha256').update(blobKeys.join('\n')).digest('hex').slice(0, 16);
  const name = `${split}-${tag}.u8`;
  const target = join(cacheDir, name);
  if (existsSync(target)) return name;
  // Blob by blob into the temp file: a split can be larger than is worth holding twice.
  replaceFileSync(target, (function* () {
    for (const key of blobKeys) yield readFileSync(blobPath(cacheDir, key));
  })());
  return name;
}
