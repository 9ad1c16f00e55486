// The contact sheet: a few training originals (left column) beside the K variants the
// model will see, as one PNG a person can look at.
import { readFileSync } from 'node:fs';
import sharp, { type OverlayOptions } from 'sharp';
import { replaceFileSync } from '../../engine/atomic-write.ts';

export interface SheetRow {
  /** Absolute path of the original image. */
  original: string;
  /** Absolute path of its blob: K variants of size x size x 3. */
  blob: string;
}

const GAP = 4;
const BACKGROUND = { r: 96, g: 96, b: 96 };

export async function writeContactSheet(out: string, rows: readonly SheetRow[], size: number, variants: number, cell: number): Promise<void> {
  if (rows.length === 0) return;
  const width = GAP + (1 + variants) * (cell + GAP);
  const height = GAP + rows.length * (cell + GAP);
  const tiles: OverlayOptions[] = [];
  const bytes = size * size * 3;
  for (const [r, row] of rows.entries()) {
    const top = GAP + r * (cell + GAP);
    const original = await sharp(row.original).flatten({ background: '#ffffff' })
      .resize(cell, cell, { fit: 'contain', background: '#ffffff' }).png().toBuffer();
    tiles.push({ input: original, top, left: GAP });
    const blob = readFileSync(row.blob);
    for (let v = 0; v < variants; v++) {
      const raw = blob.subarray(v * bytes, (v + 1) * bytes);
      const tile = await sharp(raw, { raw: { width: size, height: size, channels: 3 } })
        .resize(cell, cell, { kernel: 'nearest' }).png().toBuffer();
      tiles.push({ input: tile, top, left: GAP + (1 + v) * (cell + GAP) });
    }
  }
  const png = await sharp({ create: { width, height, channels: 3, background: BACKGROUND } }).composite(tiles).png().toBuffer();
  replaceFileSync(out, png);
}
