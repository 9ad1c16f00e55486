// Writes a small dataset in the filter stage's format (artifacts/dataset/manifest.jsonl +
// labels.json) with real encoded images made by sharp: tests and benchmarks build on it.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

export interface FakeImage { path: string; part: string; color: number; source: string; split: 'train' | 'val' | 'test'; bytes: Buffer }

const COLORS = [
  { id: 0, name: 'Black', rgb: '05131D' },
  { id: 4, name: 'Red', rgb: 'C91A09' },
  { id: 1, name: 'Blue', rgb: '0055BF' },
  { id: 14, name: 'Yellow', rgb: 'F2CD37' },
];
export const PARTS = ['3001', '3003', '3020'];

/** A brick-like picture: a coloured block with studs on white, position and size from `n`. */
export async function brickImage(n: number, rgb: string, side = 128, format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const px = Buffer.alloc(side * side * 3, 255);
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(rgb.slice(i, i + 2), 16)) as [number, number, number];
  const x0 = 10 + (n * 7) % 30, y0 = 20 + (n * 13) % 30, w = 50 + (n * 5) % 40, h = 30 + (n * 3) % 30;
  for (let y = y0; y < Math.min(side, y0 + h); y++) {
    for (let x = x0; x < Math.min(side, x0 + w); x++) {
      const shade = 1 - 0.3 * ((y - y0) / h);
      const i = (y * side + x) * 3;
      px[i] = r * shade; px[i + 1] = g * shade; px[i + 2] = b * shade;
    }
  }
  for (let s = 0; s < 1 + (n % 4); s++) {   // studs above the block
    const cx = x0 + 8 + s * 12, cy = y0 - 5;
    for (let y = cy - 4; y <= cy + 4; y++) for (let x = cx - 4; x <= cx + 4; x++) {
      if (y < 0 || x < 0 || x >= side || (x - cx) ** 2 + (y - cy) ** 2 > 16) continue;
      const i = (y * side + x) * 3; px[i] = r; px[i + 1] = g; px[i + 2] = b;
    }
  }
  // n's bits as grey cells in the bottom rows, so every picture (even as JPEG) has its own content hash.
  for (let bit = 0; bit < 16; bit++) {
    if (!((n >> bit) & 1)) continue;
    for (let y = side - 4; y < side; y++) px.fill(150, (y * side + bit * 4) * 3, (y * side + bit * 4 + 4) * 3);
  }
  const img = sharp(px, { raw: { width: side, height: side, channels: 3 } });
  return format === 'png' ? img.png().toBuffer() : img.jpeg({ quality: 90 }).toBuffer();
}

export interface DatasetSpec { train: number; val: number; test: number; side?: number; startAt?: number }

/** Makes the images under `root/data/...` and returns them (not yet in a manifest). */
export async function makeImages(root: string, spec: DatasetSpec): Promise<FakeImage[]> {
  const images: FakeImage[] = [];
  const start = spec.startAt ?? 0;
  const total = spec.train + spec.val + spec.test;
  for (let k = 0; k < total; k++) {
    const n = start + k;
    const split = k < spec.train ? 'train' : k < spec.train + spec.val ? 'val' : 'test';
    const part = PARTS[n % PARTS.length]!;
    const color = COLORS[(n >> 1) % COLORS.length]!;
    const source = split === 'train' && n % 3 === 0 ? 'legacy' : 'real';
    const format = n % 2 ? 'jpeg' : 'png';
    const path = `data/${source}/${part}/${color.id}/img_${String(n).padStart(5, '0')}.${format === 'png' ? 'png' : 'jpg'}`;
    const bytes = await brickImage(n, color.rgb, spec.side ?? 128, format);
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), bytes);
    images.push({ path, part, color: color.id, source, split, bytes });
  }
  return images;
}

/** Writes artifacts/dataset/{manifest.jsonl,labels.json} for `images` (sorted by path). */
export function writeManifest(root: string, images: readonly FakeImage[], datasetDir = join(root, 'artifacts/dataset')): void {
  mkdirSync(datasetDir, { recursive: true });
  const lines = [...images].sort((a, b) => a.path.localeCompare(b.path)).map((im) => JSON.stringify({
    path: im.path, sha256: createHash('sha256').update(im.bytes).digest('hex'), source: im.source,
    part_id: im.part, color_id: im.color, split: im.split, width: 128, height: 128,
  }));
  writeFileSync(join(datasetDir, 'manifest.jsonl'), lines.join('\n') + '\n');
  writeFileSync(join(datasetDir, 'labels.json'), JSON.stringify({ parts: PARTS, colors: COLORS.slice(0, 3) }));
}
