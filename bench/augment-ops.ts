// Benchmark: CPU milliseconds per image of each augmentation kernel on raw buffers, beside a
// sharp round trip doing the same op where sharp has one (why the kernels are raw).
//
//   node --import tsx bench/augment-ops.ts [--sizes 64,224]
import { parseArgs } from 'node:util';
import sharp, { type Sharp } from 'sharp';
import {
  brightnessContrast, coarseDropout, flipHorizontal, gaussianBlur, gaussNoise, hueSaturationValue, rotate90, shiftScaleRotate,
} from '../src/ml/augment/ops.ts';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '64,224' } } });
sharp.concurrency(1);

/** CPU milliseconds per call (process-wide, so sharp's pool threads count; steadier than wall time on a shared machine). */
async function msPer(f: () => unknown, budgetMs = 400): Promise<number> {
  await f();
  let runs = 0;
  const t = performance.now();
  const c = process.cpuUsage();
  while (performance.now() - t < budgetMs) { await f(); runs++; }
  const u = process.cpuUsage(c);
  return (u.user + u.system) / 1000 / runs;
}

for (const s of values.sizes.split(',').map(Number)) {
  const img = Uint8Array.from({ length: s * s * 3 }, (_, i) => (i * 31 + (i >> 7)) & 255);
  const raw = { raw: { width: s, height: s, channels: 3 as const } };
  const viaSharp = (p: (x: Sharp) => Sharp) => () => p(sharp(img, raw)).raw().toBuffer();
  const rows: [string, () => unknown, (() => unknown) | undefined][] = [
    ['rotate90', () => rotate90(img, s, 1), viaSharp((x) => x.rotate(90))],
    ['horizontal_flip', () => flipHorizontal(img, s), viaSharp((x) => x.flop())],
    ['shift_scale_rotate', () => shiftScaleRotate(img, s, 10, 1.1, 0.05, -0.05), viaSharp((x) => x.affine([[1.08, 0.19], [-0.19, 1.08]]))],
    ['brightness_contrast', () => brightnessContrast(img.slice(), 1.1, 0.1), viaSharp((x) => x.linear(1.1, 25))],
    ['hue_saturation_value', () => hueSaturationValue(img.slice(), 5, 10, -10), viaSharp((x) => x.modulate({ hue: 10, saturation: 1.1 }))],
    ['gauss_noise', () => gaussNoise(img.slice(), 5, 1, 7), undefined],
    ['gaussian_blur k5', () => gaussianBlur(img.slice(), s, 5), viaSharp((x) => x.blur(1.1))],
    ['coarse_dropout', () => coarseDropout(img.slice(), s, [{ y: 3, x: 3, side: 6 }, { y: 20, x: 9, side: 6 }]), undefined],
  ];
  console.log(`\n${s}x${s}: CPU ms per image (raw kernel | sharp round trip, 1 thread)`);
  for (const [name, ours, theirs] of rows) {
    const a = await msPer(ours);
    const b = theirs ? (await msPer(theirs)).toFixed(3) : '-';
    console.log(`${name.padEnd(22)} ${a.toFixed(3).padStart(8)} | ${b.padStart(8)}`);
  }
}
