// Packs a split's blobs into one contiguous uint8 file, named by its content's keys, so the
// train stage reads a split with one read and an unchanged split is not rewritten.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { TEMP_MARK } from './atomic-file.ts';
import { blobPath } from './cache-layout.ts';

/** Writes (unless already there) `<split>-<hash>.u8`; returns its file name. */
export function packSplit(cacheDir: string, split: string, blobKeys: readonly string[]): string {
  const tag = createHash('sha256').update(blobKeys.join('\n')).digest('hex').slice(0, 16);
  const name = `${split}-${tag}.u8`;
  const target = join(cacheDir, name);
  if (existsSync(target)) return name;
  mkdirSync(cacheDir, { recursive: true });
  const temp = `${target}${TEMP_MARK}${process.pid}`;
  const fd = openSync(temp, 'w');
  try {
    for (const key of blobKeys) {
      const bytes = readFileSync(blobPath(cacheDir, key));
      writeSync(fd, bytes);
    }
  } finally {
    closeSync(fd);
  }
  renameSync(temp, target);
  return name;
}
