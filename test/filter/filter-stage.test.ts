import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDataset, type ManifestEntry } from '../../src/ml/dataset/build-dataset.ts';
import type { FilterRules, SourceConfig, SplitConfig } from '../../src/ml/dataset/data-config.ts';
import { loadColors } from '../../src/ml/dataset/labels.ts';
import { REPO, runStage, tempProject, writeFile, writeImage } from './project-rig.ts';

const SPLIT: SplitConfig = { salt: 'test-salt', group_by: 'file', evaluate_on: 'real', train: 0.7, val: 0.15, test: 0.15 };
const RULES: FilterRules = { min_size: 32, extensions: ['.png', '.jpg', '.jpeg', '.webp'], min_test_per_part: 0, min_val_per_part: 0 };
const TARGETS = [
  { id: '3001', name: 'Brick 2 x 4' },
  { id: '3003', name: 'Brick 2 x 2' },
];
const colorsResult = loadColors(join(REPO, 'config/colors.json'));
if (!colorsResult.ok) throw new Error(colorsResult.message);
const COLORS = colorsResult.value;
const quiet = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;

function build(root: string, sources: SourceConfig[], rules: Partial<FilterRules> = {}) {
  return buildDataset({ projectRoot: root, sources, targets: TARGETS, colors: COLORS, split: SPLIT, rules: { ...RULES, ...rules }, log: quiet });
}

const real = (path = 'data/real'): SourceConfig => ({ name: 'real', path, layout: 'part_color', use: 'split' });
const byPath = (m: readonly ManifestEntry[]) => new Map(m.map((e) => [e.path, e]));

describe('filter: split', () => {
  it('keeps every image in its split when more captures are added', async () => {
    const root = tempProject('filter-stable-');
    for (let i = 0; i < 60; i++) await writeImage(root, `data/real/${i % 2 ? '3001' : '3003'}/${i % 3 ? 4 : 15}/img_${i}.png`, i);
    const before = byPath((await build(root, [real()])).manifest);
    for (let i = 60; i < 180; i++) await writeImage(root, `data/real/${i % 2 ? '3001' : '3003'}/${i % 3 ? 4 : 1}/img_${i}.png`, i);
    const after = byPath((await build(root, [real()])).manifest);
    expect(after.size).toBe(180);
    const moved = [...before].filter(([path, e]) => after.get(path)!.split !== e.split);
    expect(moved).toEqual([]);
  });

  it('splits real captures about 70/15/15 within each part, and puts train-only sources in train', async () => {
    const root = tempProject('filter-ratio-');
    for (let i = 0; i < 400; i++) await writeImage(root, `data/real/${i % 2 ? '3001' : '3003'}/4/img_${i}.png`, i, 40);
    for (let i = 0; i < 10; i++) await writeImage(root, `data/legacy/3001/4/l_${i}.png`, 1000 + i, 40);
    const { manifest } = await build(root, [real(), { name: 'legacy', path: 'data/legacy', layout: 'part_color', use: 'train' }]);
    for (const part of ['3001', '3003']) {
      const mine = manifest.filter((m) => m.part_id === part && m.source === 'real');
      const share = (s: string) => mine.filter((m) => m.split === s).length / mine.length;
      expect(share('train')).toBeGreaterThan(0.6);
      expect(share('train')).toBeLessThan(0.8);
      expect(share('val')).toBeGreaterThan(0.08);
      expect(share('test')).toBeGreaterThan(0.08);
    }
    expect(manifest.filter((m) => m.source === 'legacy').every((m) => m.split === 'train')).toBe(true);
  });

  it('gives byte-identical copies the same split, so a duplicate cannot leak from train into test', async () => {
    const root = tempProject('filter-dup-');
    for (let i = 0; i < 20; i++) {
      await writeImage(root, `data/real/3001/4/a_${i}.png`, i);
      await writeImage(root, `data/real/3003/15/copy_of_a_${i}.png`, i);
    }
    const { manifest, summary } = await build(root, [real()]);
    const bySha = new Map<string, Set<string>>();
    for (const m of manifest) bySha.set(m.sha256, (bySha.get(m.sha256) ?? new Set()).add(m.split));
    expect([...bySha.values()].every((splits) => splits.size === 1)).toBe(true);
    expect(summary.duplicate_images).toBe(40);
  });
});

describe('filter: bad data', () => {
  it('lists corrupt, empty, tiny, non-image and misplaced files with a reason and keeps the good ones', async () => {
    const root = tempProject('filter-bad-');
    await writeImage(root, 'data/real/3001/4/good.png', 1);
    await writeImage(root, 'data/real/3001/4/good2.jpg', 2);
    writeFile(root, 'data/real/3001/4/empty.png', Buffer.alloc(0));
    const jpeg = readFileSync(await writeImage(root, 'data/real/3001/4/whole.jpg', 3));
    writeFile(root, 'data/real/3001/4/truncated.jpg', jpeg.subarray(0, Math.floor(jpeg.length / 2)));
    writeFile(root, 'data/real/3001/4/notes.png', 'this is not a picture');
    await writeImage(root, 'data/real/3001/4/tiny.png', 4, 16);
    writeFile(root, 'data/real/3001/4/readme.txt', 'hello');
    await writeImage(root, 'data/real/9999x/4/unknown_part.png', 5);
    await writeImage(root, 'data/real/3001/red/named_color.png', 6);
    await writeImage(root, 'data/real/3001/loose.png', 7);
    const { manifest, bad, summary } = await build(root, [real()]);
    expect(manifest.map((m) => m.path).sort()).toEqual(['data/real/3001/4/good.png', 'data/real/3001/4/good2.jpg', 'data/real/3001/4/whole.jpg']);
    const reason = new Map(bad.map((b) => [b.path, b.reason]));
    expect(reason.get('data/real/3001/4/empty.png')).toBe('empty file (0 bytes)');
    expect(reason.get('data/real/3001/4/truncated.jpg')).toMatch(/^not a readable image/);
    expect(reason.get('data/real/3001/4/notes.png')).toMatch(/^not a readable image/);
    expect(reason.get('data/real/3001/4/tiny.png')).toBe('image too small: 16x16, filter.min_size is 32');
    expect(reason.get('data/real/3001/4/readme.txt')).toMatch(/not an image file/);
    expect(reason.get('data/real/9999x')).toMatch(/part folder "9999x" is not a target part/);
    expect(reason.get('data/real/3001/red')).toMatch(/color folder "red" is not a numeric color id/);
    expect(reason.get('data/real/3001/loose.png')).toMatch(/image outside a color folder/);
    expect(summary.skipped.files).toBe(8);
    expect(summary.skipped.by_kind).toEqual({ empty: 1, corrupt: 2, 'too-small': 1, 'not-image': 1, 'not-target-part': 1, layout: 2 });
  });

  it('the stage succeeds on bad files, writes them to bad_files.jsonl, and fails naming a part without real test images', async () => {
    const root = tempProject('filter-rule-');
    for (let i = 0; i < 30; i++) await writeImage(root, `data/real/3001/4/img_${i}.png`, i);
    writeFile(root, 'data/real/3001/4/broken.png', Buffer.alloc(0));
    const params = {
      sources: [real()],
      split: SPLIT,
      filter: { min_test_per_part: 1 },
      capture_plan: { tiers: { B: { angles: 6, colors: 3 } } },
    };
    const failed = runStage(root, 'filter', params, ['artifacts/dataset']);
    // 3003 (and every target part but 3001) has no captures at all.
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(/filter\.min_test_per_part is 1: 19 target part\(s\) have fewer real test images: 3002 \(0\), 3003 \(0\)/);
    expect(failed.stderr).not.toMatch(/3001 \(/);
    // ... and says what to do, with the capture plan written although the stage failed.
    expect(failed.stderr).toMatch(/- photograph more of these parts: with split.test 0.15, about 7 captures of a part give it 1 test image\(s\) on average/);
    expect(failed.stderr).toMatch(/- or lower filter.min_test_per_part in config\/data.yaml/);
    expect(failed.stderr).toMatch(/- or drop these parts from config\/target_parts.json: 3002, 3003, /);
    expect(failed.stderr).toMatch(/what each part has and needs: artifacts\/capture_plan.txt/);
    expect(readFileSync(join(root, 'artifacts/capture_plan.txt'), 'utf8')).toMatch(/^3003 +Brick 2 x 2 +B +0\/18 +18/m);

    const ok = runStage(root, 'filter', { ...params, filter: { min_test_per_part: 0, min_val_per_part: 0 } }, ['artifacts/dataset']);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(existsSync(join(root, 'artifacts/capture_plan.txt'))).toBe(false);
    const bad = readFileSync(join(root, 'artifacts/dataset/bad_files.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(bad).toEqual([{ path: 'data/real/3001/4/broken.png', reason: 'empty file (0 bytes)', kind: 'empty' }]);
    expect(ok.stdout).toMatch(/skipped 1 file\(s\): 1 empty \(see artifacts\/dataset\/bad_files.jsonl\)/);
  });

  it('fails when a configured source folder does not exist, naming it', async () => {
    const root = tempProject('filter-missing-');
    await writeImage(root, 'data/real/3001/4/a.png', 1);
    const { violations } = await build(root, [real(), { name: 'legacy', path: 'data/legacy_typo', layout: 'part_color', use: 'train' }]);
    expect(violations).toEqual([{ rule: 'sources', message: 'source "legacy": folder does not exist: data/legacy_typo (config/data.yaml sources)' }]);
  });

  it('rejects a broken config/data.yaml naming the file, line, column and key', () => {
    const root = tempProject('filter-config-');
    writeFile(root, 'config/data.yaml', 'sources:\n  - {name: real, path: data/real, layout: color_part, use: split}\nsplit: {train: 0.7, val: 0.15, test: 0.15}\ncapture_plan: {tiers: {B: {angles: 6, colors: 3}}}\n');
    const r = runStage(root, 'filter', { sources: [{ name: 'real', path: 'data/real', layout: 'color_part', use: 'split' }], split: SPLIT, capture_plan: { tiers: { B: { angles: 6, colors: 3 } } } }, ['artifacts/dataset']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('config/data.yaml:2:43: sources.0.layout: must be one of "part_color", "part"');
  });
});

describe('filter: layouts and labels', () => {
  it('imports the B200C layout (<part>/<image>) as unknown color, train only', async () => {
    const root = tempProject('filter-b200c-');
    for (let i = 0; i < 5; i++) await writeImage(root, `b200c/3003/${i}.jpg`, i, 64);
    const { manifest } = await build(root, [{ name: 'b200c', path: 'b200c', layout: 'part', use: 'train' }]);
    expect(manifest).toHaveLength(5);
    expect(manifest.every((m) => m.part_id === '3003' && m.color_id === 9999 && m.split === 'train' && m.source === 'b200c')).toBe(true);
    expect(manifest[0]).toMatchObject({ path: 'b200c/3003/0.jpg', width: 64, height: 64 });
  });

  it('follows symlinked part folders and images (datasets linked in from another disk)', async () => {
    const root = tempProject('filter-links-');
    await writeImage(root, 'elsewhere/3003/4/a.png', 1);
    await writeImage(root, 'elsewhere/b.png', 2);
    mkdirSync(join(root, 'data/real/3001/4'), { recursive: true });
    symlinkSync(join(root, 'elsewhere/3003'), join(root, 'data/real/3003'));
    symlinkSync(join(root, 'elsewhere/b.png'), join(root, 'data/real/3001/4/b.png'));
    const { manifest, bad } = await build(root, [real()]);
    expect(manifest.map((m) => [m.path, m.part_id, m.color_id])).toEqual([
      ['data/real/3001/4/b.png', '3001', 4],
      ['data/real/3003/4/a.png', '3003', 4],
    ]);
    expect(bad).toEqual([]);
  });

  it('takes labels from index.csv over the folders, and reports bad rows by line', async () => {
    const root = tempProject('filter-index-');
    await writeImage(root, 'shots/a.png', 1);
    await writeImage(root, 'shots/b.png', 2);
    await writeImage(root, 'shots/nested/c.png', 3);
    await writeImage(root, 'shots/3003/4/d.png', 4); // its folders say 3003/4; the index says otherwise
    writeFile(
      root,
      'shots/index.csv',
      'path,part_id,color_id\na.png,3001,4\nb.png,3003,\nnested/c.png,3001,191\n3003/4/d.png,3001,15\nmissing.png,3001,4\ne.png,,4\n',
    );
    const { manifest, bad, summary } = await build(root, [{ name: 'real', path: 'shots', layout: 'part_color', use: 'train' }]);
    const labels = Object.fromEntries(manifest.map((m) => [m.path, [m.part_id, m.color_id]]));
    expect(labels).toEqual({
      'shots/a.png': ['3001', 4],
      'shots/b.png': ['3003', 9999],
      'shots/nested/c.png': ['3001', 9999], // 191 is not a head color
      'shots/3003/4/d.png': ['3001', 15],
    });
    expect(summary.colors_outside_head).toEqual({ 191: 1 });
    expect(bad).toEqual([
      { path: 'shots/index.csv:6', reason: 'listed image shots/missing.png does not exist', kind: 'index-row' },
      { path: 'shots/index.csv:7', reason: 'row needs a path and a part_id', kind: 'index-row' },
    ]);
  });

  it('maps colors outside the head to 9999 and counts them apart', async () => {
    const root = tempProject('filter-colors-');
    await writeImage(root, 'data/real/3001/4/red.png', 1);
    await writeImage(root, 'data/real/3001/191/orange.png', 2);
    const { manifest, summary, labels } = await build(root, [real()]);
    expect(manifest.map((m) => m.color_id)).toEqual([191, 4].map((c) => (c === 191 ? 9999 : c)));
    expect(summary.colors_outside_head).toEqual({ 191: 1 });
    expect(labels.parts).toEqual(['3001', '3003']);
    expect(labels.colors.map((c) => c.id)).toEqual(COLORS.map((c) => c.id));
  });
});

describe('filter stage outputs', () => {
  it('writes a sorted manifest with project-relative paths, labels, summary and the capture plan', async () => {
    const root = tempProject('filter-out-');
    for (let i = 0; i < 40; i++) await writeImage(root, `data/real/${i % 2 ? '3001' : '3003'}/${i % 4 < 2 ? 4 : 15}/img_${String(i).padStart(2, '0')}.jpg`, i);
    const r = runStage(
      root,
      'filter',
      { sources: [real()], split: SPLIT, filter: { min_test_per_part: 0, min_val_per_part: 0 }, capture_plan: { default_tier: 'B', tiers: { A: { angles: 12, colors: 2 }, B: { angles: 6, colors: 3 } } } },
      ['artifacts/dataset'],
    );
    expect(r.status).toBe(0);
    const out = (f: string) => readFileSync(join(root, 'artifacts/dataset', f), 'utf8');
    const manifest = out('manifest.jsonl').trim().split('\n').map((l) => JSON.parse(l) as ManifestEntry);
    expect(manifest).toHaveLength(40);
    expect(manifest.map((m) => m.path)).toEqual([...manifest.map((m) => m.path)].sort());
    expect(Object.keys(manifest[0]!).sort()).toEqual(['color_id', 'height', 'part_id', 'path', 'sha256', 'source', 'split', 'width']);
    expect(manifest[0]!.path).toBe('data/real/3001/15/img_03.jpg'); // sorted as text: 15 < 4
    const labels = JSON.parse(out('labels.json')) as { parts: string[] };
    expect(labels.parts).toHaveLength(20);
    const summary = JSON.parse(out('summary.json')) as { images: number; per_part: Record<string, { total: number }> };
    expect(summary.images).toBe(40);
    expect(summary.per_part['3001']!.total).toBe(20);
    // 3001 and 3003 (tier A: 12 angles x 2 colors) have 10 + 10 of 24; 6 more A parts need 24, and 12 parts (tier B, or tier C which this config lacks, so the default B) need 18.
    expect(out('capture_plan.txt')).toContain('Still to photograph: 368 images (40/408 done; 0 of 20 parts complete)');
    expect(out('capture_plan.txt')).toMatch(/3001 +Brick 2 x 4 +A +20\/24 +4 +Red 10\/12, White 10\/12/);
  });
});
