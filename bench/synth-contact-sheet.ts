// Writes a contact sheet per demo source (12 parts in 4 colors) to look at the renderer's output.
// Usage: node --import tsx bench/synth-contact-sheet.ts [outDir=artifacts/synth-sheets]; prints where and how long.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { renderImage } from '../src/synth/render-image.ts';
import { SOURCE_NAMES } from '../src/synth/source-styles.ts';

const outDir = process.argv[2] ?? 'artifacts/synth-sheets';
const parts = ['3001', '3003', '3005', '3020', '3024', '3068', '3039', '3040', '3062', '4073', '98138', '3037'];
const colors = ['C91A09', 'A0A5A9', '05131D', 'E4CD9E'];
const cell = 128;
mkdirSync(outDir, { recursive: true });
const t0 = Date.now();
for (const source of SOURCE_NAMES) {
  const size = source === 'b200c' ? 64 : 128;
  const tiles = [];
  for (const [i, partId] of parts.entries()) {
    const bytes = await renderImage({ source, partId, rgb: colors[i % colors.length]!, seed: i * 7 + 1, size, supersample: 2, format: source === 'legacy' ? 'png' : 'jpeg', quality: 88 });
    tiles.push({ input: await sharp(bytes).resize(cell, cell, { kernel: 'nearest' }).toBuffer(), left: (i % 6) * cell, top: Math.floor(i / 6) * cell });
  }
  const file = join(outDir, `${source}.png`);
  await sharp({ create: { width: 6 * cell, height: 2 * cell, channels: 3, background: '#888888' } }).composite(tiles).png().toFile(file);
  console.log(`wrote ${file}`);
}
console.log(`${3 * parts.length} images in ${Date.now() - t0} ms`);
