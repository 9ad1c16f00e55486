// Opens one image file: its content hash and size, or the reason it cannot be used.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { BadKind } from './scan-source.ts';

export type Inspection =
  | { ok: true; sha256: string; width: number; height: number }
  | { ok: false; reason: string; kind: BadKind };

/** Reads, hashes and fully decodes the file (a truncated image fails here), then checks its size. */
export async function inspectImage(absPath: string, minSize: number): Promise<Inspection> {
  let bytes: Buffer;
  try {
    bytes = await readFile(absPath);
  } catch (e) {
    return { ok: false, reason: `unreadable file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, kind: 'unreadable' };
  }
  if (bytes.length === 0) return { ok: false, reason: 'empty file (0 bytes)', kind: 'empty' };
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  let width: number, height: number;
  try {
    const { info } = await sharp(bytes, { failOn: 'truncated' }).raw().toBuffer({ resolveWithObject: true });
    width = info.width;
    height = info.height;
  } catch (e) {
    return { ok: false, reason: `not a readable image: ${firstLine((e as Error).message)}`, kind: 'corrupt' };
  }
  if (width < minSize || height < minSize)
    return { ok: false, reason: `image too small: ${width}x${height}, filter.min_size is ${minSize}`, kind: 'too-small' };
  return { ok: true, sha256, width, height };
}

const firstLine = (s: string): string => s.split('\n')[0]!.trim();
