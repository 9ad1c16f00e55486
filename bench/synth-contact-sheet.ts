import sharp from 'sharp';
import { renderImage } from '../src/synth/render-image.ts';
const parts = ['3001','3003','3005','3020','3024','3068','3039','3040','3062','4073','98138','3037'];
const t0 = Date.now();
for (const source of ['legacy','b200c','real'] as const) {
  const size = source === 'b200c' ? 64 : 128;
  const tiles = [];
  for (let i = 0; i < parts.length; i++) {
    const buf = await renderImage({ source, partId: parts[i]!, rgb: ['C91A09','A0A5A9','05131D','E4CD9E'][i%4]!, seed: i*7+1, size, supersample: 2, format: source==='legacy'?'png':'jpeg', quality: 88 });
    tiles.push({ input: await sharp(buf).resize(128,128).toBuffer(), left: (i%6)*128, top: Math.floor(i/6)*128 });
  }
  await sharp({ create: { width: 768, height: 256, channels: 3, background: '#888' } }).composite(tiles).png().toFile(`/tmp/synthcheck/${source}.png`);
}
console.log('ms', Date.now()-t0);
