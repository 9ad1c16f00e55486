// Benchmark: images/s of the augment step (resize + the plan's augmentations) beside the
// OpenCV reference (../shared/reference/cv2_augment_bench.py, one thread) on the same
// images and variant count, at 224 and 64 px, one core each. Prints a table and ratios.
//
//   node --import tsx bench/augment-vs-opencv.ts [--n 200] [--variants 4] [--sizes 224,64] [--dir data/synthetic]
// Without --dir it makes brick pictures of --side px; with --dir both sides take the same
// first n files (sorted paths, recursive) as the reference script does.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { defaultAugmentConfig } from '../src/ml/augment/config.ts';
import { augmentVariants } from '../src/ml/augment/plan.ts';
import { makeImages } from '../test/augment/make-dataset.ts';

const OPENCV_SCRIPT = process.env['CV2_BENCH'] ?? join(import.meta.dirname, '../../shared/reference/cv2_augment_bench.py');
const PYTHON = '/usr/bin/python3';

const { values } = parseArgs({ options: {
  n: { type: 'string', default: '200' }, variants: { type: 'string', default: '4' }, sizes: { type: 'string', default: '224,64' },
  side: { type: 'string', default: '256' }, dir: { type: 'string' }, rounds: { type: 'string', default: '3' },
} });
const n = Number(values.n), variants = Number(values.variants), side = Number(values.side);

/** The reference's figure: JSON line {img_s, engine, …}. */
export function runOpenCvBench(dir: string, size: number, count: number, k: number): { img_s: number; engine: string } {
  const out = execFileSync(PYTHON, [OPENCV_SCRIPT, '--size', String(size), '--dir', dir, '--n', String(count), '--variants', String(k)], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!) as { img_s: number; engine: string };
}

/**
 * Ours on one core: decoded RGB in memory (decode excluded, as in the reference), then per
 * image one sharp resize and K variants. Returns variants/s and the share of time the
 * resizes alone take (sharp's fixed per-call cost; in the stage it rides the decode call).
 */
async function runOurs(decoded: { data: Buffer; width: number; height: number }[], size: number, k: number): Promise<{ imgS: number; resizeShare: number }> {
  sharp.concurrency(1);
  const ops = defaultAugmentConfig().ops;
  const resize = async (img: (typeof decoded)[number]) => {
    const out = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
      .resize(size, size, { fit: 'fill' }).raw().toBuffer();
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  };
  await augmentVariants(await resize(decoded[0]!), size, ops, 1234, 'warm-up', k); // as the reference does
  let t = performance.now();
  for (const [i, img] of decoded.entries()) await augmentVariants(await resize(img), size, ops, 1234, `img${i}`, k);
  const total = performance.now() - t;
  t = performance.now();
  for (const img of decoded) await resize(img);
  return { imgS: (decoded.length * k) / (total / 1000), resizeShare: (performance.now() - t) / total };
}

// The reference's file list: every file below root (its recursive glob), sorted, first n.
function firstFiles(root: string, count: number): string[] {
  const files = readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.includes('.')).map((e) => join(e.parentPath, e.name));
  return files.sort().slice(0, count);
}

const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'augment-bench-'));
const imageDir = values.dir ?? join(dir, 'data');
try {
  const encoded = values.dir
    ? firstFiles(values.dir, n).map((f) => readFileSync(f))
    : (await makeImages(dir, { train: n, val: 0, test: 0, side })).map((im) => im.bytes);
  const decoded = await Promise.all(encoded.map(async (bytes) => {
    const { data, info } = await sharp(bytes).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  }));
  const what = values.dir ? `the first ${decoded.length} files of ${values.dir}` : `${n} images of ${side}x${side} (png + jpeg)`;
  console.log(`${what}, ${variants} variants each, 1 core, decode excluded on both sides`);
  // The machine is shared: both sides run in alternation and each keeps its best round.
  console.log(`best of ${values.rounds} alternating rounds`);
  console.log('size  brickflow img/s  opencv img/s  ratio  (brickflow time in the sharp resize)');
  for (const size of values.sizes.split(',').map(Number)) {
    let ours = { imgS: 0, resizeShare: 0 };
    let cv = { img_s: 0, engine: '' };
    for (let r = 0; r < Number(values.rounds); r++) {
      const o = await runOurs(decoded, size, variants);
      if (o.imgS > ours.imgS) ours = o;
      const c = runOpenCvBench(imageDir, size, n, variants);
      if (c.img_s > cv.img_s) cv = c;
    }
    console.log(`${String(size).padStart(4)}  ${ours.imgS.toFixed(0).padStart(15)}  ${cv.img_s.toFixed(0).padStart(12)}  ${(ours.imgS / cv.img_s).toFixed(2)}x  ` +
      `(${(ours.resizeShare * 100).toFixed(0)}% resize; ${cv.engine})`);
  }
} finally {
  if (!values.dir) rmSync(dir, { recursive: true, force: true });
}
