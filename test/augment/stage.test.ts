import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAugmentCache, sampleImage } from '../../src/ml/augment-cache-reader.ts';
import { buildAugmentCache } from '../../src/ml/augment/build-cache.ts';
import { defaultAugmentConfig } from '../../src/ml/augment/config.ts';
import { resizeImage } from '../../src/ml/preprocess.ts';
import { makeImages, writeManifest, type FakeImage } from './make-dataset.ts';

const STAGE = fileURLToPath(new URL('../../stages/augment-cache.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const SIZE = 32;
const K = 2;
const AUGMENT = { variants: K, workers: 2, contact_sheet: { originals: 3, cell_px: 48 } };

let base: string;
let baseImages: FakeImage[];
const temps: string[] = [];

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'augment-base-'));
  baseImages = await makeImages(base, { train: 20, val: 4, test: 4 });
  writeManifest(base, baseImages);
});
afterAll(() => { for (const d of [base, ...temps]) rmSync(d, { recursive: true, force: true }); });

/** A fresh project folder holding the base dataset. */
function project(): string {
  const root = mkdtempSync(join(tmpdir(), 'augment-stage-'));
  temps.push(root);
  cpSync(base, root, { recursive: true });
  return root;
}

function runStage(root: string, augment: unknown = AUGMENT, inputSize: number = SIZE, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', TSX, STAGE], {
    cwd: root,
    encoding: 'utf8',
    env: {
      ...process.env,
      PIPELINE_STAGE: 'augment-cache',
      PIPELINE_ROOT: root,
      PIPELINE_PARAMS: JSON.stringify({ 'config/augment.yaml': { augment }, 'config/training.yaml': { model: { input_size: inputSize } } }),
      PIPELINE_DEPS: JSON.stringify(['artifacts/dataset']),
      PIPELINE_OUTS: JSON.stringify(['artifacts/augment-cache']),
      PIPELINE_METRICS: 'artifacts/metrics/augment-cache.json',
      ...env,
    },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const cacheDir = (root: string) => join(root, 'artifacts/augment-cache');
const report = (root: string) => JSON.parse(readFileSync(join(cacheDir(root), 'report.json'), 'utf8')) as {
  bad_files: { path: string; reason: string }[];
};
const metrics = (root: string) => JSON.parse(readFileSync(join(root, 'artifacts/metrics/augment-cache.json'), 'utf8')) as {
  made: number; reused: number; removed_blobs: number;
};
/** The cache folder's files and their bytes (blobs aside), to compare two runs. */
function cacheContents(root: string): Map<string, string> {
  return new Map(readdirSync(cacheDir(root)).filter((f) => f !== 'blobs').map((f) => [f, readFileSync(join(cacheDir(root), f), 'base64')]));
}
function blobFiles(root: string): Map<string, number> {
  const files = new Map<string, number>();
  const dir = join(cacheDir(root), 'blobs');
  for (const shard of readdirSync(dir)) for (const f of readdirSync(join(dir, shard))) files.set(f, statSync(join(dir, shard, f)).mtimeMs);
  return files;
}

describe('augment-cache stage', () => {
  it('writes K variants per training image and plain resizes for val/test, with labels and weights', async () => {
    const root = project();
    const r = runStage(root);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/made 28, reused 0/);
    const cache = readAugmentCache(cacheDir(root));
    expect([cache.train.n, cache.val.n, cache.test.n]).toEqual([20 * K, 4, 4]);
    expect(cache.train.images.length).toBe(20 * K * SIZE * SIZE * 3);
    expect(cache.labels.parts).toEqual(['3001', '3003', '3020']);

    const byPath = new Map(baseImages.map((im) => [im.path, im]));
    for (let i = 0; i < cache.train.n; i++) {
      const im = byPath.get(cache.train.path[i]!)!;
      expect(cache.train.weight[i]).toBe(im.source === 'real' ? 3 : 1);
      expect(cache.labels.parts[cache.train.partIndex[i]!]).toBe(im.part);
      const color = cache.train.colorIndex[i]!;
      expect(color === -1 ? 14 : cache.labels.colors[color]!.id).toBe(im.color); // yellow (14) is not a head color
    }
    // Val/test are exactly the shared resize; a training image's variants are not.
    for (let i = 0; i < cache.val.n; i++) {
      expect(Buffer.from(sampleImage(cache.val, i)).equals(Buffer.from(await resizeImage(join(root, cache.val.path[i]!), SIZE)))).toBe(true);
    }
    const plain = Buffer.from(await resizeImage(join(root, cache.train.path[0]!), SIZE));
    expect(plain.equals(Buffer.from(sampleImage(cache.train, 0))) && plain.equals(Buffer.from(sampleImage(cache.train, 1)))).toBe(false);

    const sheet = await sharp(join(cacheDir(root), 'contact_sheet.png')).metadata();
    expect([sheet.format, sheet.width, sheet.height]).toEqual(['png', 4 + (1 + K) * 52, 4 + 3 * 52]);
    expect(report(root).bad_files).toEqual([]);
  });

  it('reruns only what changed: new images are made, removed ones leave, a changed parameter remakes the training variants', () => {
    const root = project();
    expect(runStage(root).code).toBe(0);
    const first = blobFiles(root);
    const contents = cacheContents(root);
    // A rerun with nothing new leaves every file of the cache byte-identical (downstream stays fresh).
    expect(runStage(root, { ...AUGMENT, workers: 0 }).code).toBe(0);
    expect(metrics(root)).toMatchObject({ made: 0, reused: 28 });
    expect(cacheContents(root)).toEqual(contents);

    // Add two training images (10% of 20): only they are made; the old blobs stay untouched.
    return makeImages(root, { train: 2, val: 0, test: 0, startAt: 100 }).then((added) => {
      writeManifest(root, [...baseImages, ...added]);
      expect(runStage(root).code).toBe(0);
      expect(metrics(root)).toMatchObject({ made: 2, reused: 28, removed_blobs: 0 });
      const second = blobFiles(root);
      for (const [f, mtime] of first) expect(second.get(f)).toBe(mtime);
      expect(readAugmentCache(cacheDir(root)).train.n).toBe(22 * K);

      // Remove one: its blob leaves the cache and its samples leave the split.
      const gone = baseImages.find((im) => im.split === 'train')!;
      writeManifest(root, [...baseImages.filter((im) => im !== gone), ...added]);
      expect(runStage(root).code).toBe(0);
      expect(metrics(root)).toMatchObject({ made: 0, removed_blobs: 1 });
      expect(blobFiles(root).size).toBe(second.size - 1);
      expect(readAugmentCache(cacheDir(root)).train.path).not.toContain(gone.path);

      // A changed augmentation parameter remakes every training blob, not val/test.
      const changed = { ...AUGMENT, ops: { gauss_noise: { p: 0.9 } } };
      expect(runStage(root, changed).code).toBe(0);
      expect(metrics(root)).toMatchObject({ made: 21, reused: 8, removed_blobs: 21 });
      // A changed resolution remakes everything.
      expect(runStage(root, changed, 24).code).toBe(0);
      expect(metrics(root)).toMatchObject({ made: 29, reused: 0 });
      expect(readAugmentCache(cacheDir(root)).train.height).toBe(24);
    });
  });

  it('keeps its blobs only for the same stage code: edited code or --force remakes them all', () => {
    const root = project();
    const code = (hash: string, force = '0') => ({ PIPELINE_CODE_FINGERPRINT: hash, PIPELINE_FORCE: force });
    expect(runStage(root, AUGMENT, SIZE, code('a')).code).toBe(0);
    expect(runStage(root, AUGMENT, SIZE, code('a')).code).toBe(0);
    expect(metrics(root)).toMatchObject({ made: 0, reused: 28 });
    expect(runStage(root, AUGMENT, SIZE, code('b')).code).toBe(0);
    expect(metrics(root)).toMatchObject({ made: 28, reused: 0, removed_blobs: 28 });
    expect(runStage(root, AUGMENT, SIZE, code('b', '1')).code).toBe(0);
    expect(metrics(root)).toMatchObject({ made: 28, reused: 0 });
  });

  it('reports a corrupt image and carries on with the rest', () => {
    const root = project();
    const victim = baseImages.find((im) => im.split === 'train')!;
    writeFileSync(join(root, victim.path), 'this is not a PNG');
    const r = runStage(root);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`skipped ${victim.path}: cannot decode`);
    expect(report(root).bad_files).toEqual([{ path: victim.path, reason: expect.stringContaining('cannot decode') }]);
    const cache = readAugmentCache(cacheDir(root));
    expect(cache.train.n).toBe(19 * K);
    expect(cache.train.path).not.toContain(victim.path);
  });

  it('makes the same bytes whatever the number of worker threads', async () => {
    const roots = [project(), project()];
    const config = { ...defaultAugmentConfig(), variants: K };
    for (const [i, root] of roots.entries()) {
      await buildAugmentCache({
        datasetDir: join(root, 'artifacts/dataset'), cacheDir: cacheDir(root), root, size: SIZE, config, threads: i === 0 ? 0 : 2, log: () => {},
      });
    }
    const [a, b] = roots.map((root) => readAugmentCache(cacheDir(root)).train.images);
    expect(Buffer.from(a!).equals(Buffer.from(b!))).toBe(true);
  });

  it('refuses bad settings with a message naming the key, and a missing dataset naming the file', () => {
    const root = project();
    const bad = runStage(root, { variants: 0 });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('config/augment.yaml');
    expect(bad.err).toContain('augment.variants');
    rmSync(join(root, 'artifacts/dataset/manifest.jsonl'));
    const missing = runStage(root);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/artifacts\/dataset\/manifest\.jsonl: cannot read \(ENOENT\)/);
    expect(existsSync(join(cacheDir(root), 'index.json'))).toBe(false);
  });
});
