import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDataset, type ManifestEntry } from '../../src/ml/dataset/build-dataset.ts';
import { parseDataConfig, type SourceConfig } from '../../src/ml/dataset/data-config.ts';
import { loadColors } from '../../src/ml/dataset/labels.ts';
import { REPO, runStage, tempProject, writeImage } from './project-rig.ts';

const TARGETS = [
  { id: '3001', name: 'Brick 2 x 4' },
  { id: '3003', name: 'Brick 2 x 2' },
];
const colors = loadColors(join(REPO, 'config/colors.json'));
if (!colors.ok) throw new Error(colors.message);
const quiet = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;
const VIEWS = ['front', 'back', 'bottom'];
const photos: SourceConfig = { name: 'photos', path: 'data/photos', layout: 'part', use: 'split' };

/** config/data.yaml's split with the schema's defaults (group_by included) filled in. */
function splitConfig(extra: Record<string, unknown> = {}) {
  const parsed = parseDataConfig({ sources: [photos], split: { evaluate_on: 'photos', train: 0.7, val: 0.15, test: 0.15, ...extra } }, join(REPO, 'config/data.yaml'), ['split']);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value.split;
}

/** Captures `from`..`to`-1, three views each (`<timestamp>_<view>.jpg`), alternating between two parts. */
async function capture(root: string, from: number, to: number): Promise<void> {
  for (let c = from; to > c; c++)
    for (const [v, view] of VIEWS.entries()) await writeImage(root, `data/photos/${c % 2 ? '3001' : '3003'}/17000${c}_${view}.jpg`, c * 3 + v, 40);
}

const capturesOf = (manifest: readonly ManifestEntry[]) => {
  const byCapture = new Map<string, Set<string>>();
  for (const m of manifest) {
    const id = m.path.replace(/_(front|back|bottom)\.jpg$/, '');
    byCapture.set(id, (byCapture.get(id) ?? new Set()).add(m.split));
  }
  return byCapture;
};

describe('filter: split.group_by keeps the views of one capture together', () => {
  it('by default puts every view of a <id>_<view> capture in the same split, and adding captures moves none', async () => {
    const root = tempProject('filter-groups-');
    await capture(root, 0, 60);
    const split = splitConfig();
    const build = () => buildDataset({ projectRoot: root, sources: [photos], targets: TARGETS, colors: colors.value, split, rules: { min_size: 16, extensions: ['.jpg'], min_test_per_part: 0, min_val_per_part: 0 }, log: quiet });
    const before = await build();
    const captures = capturesOf(before.manifest);
    expect(captures.size).toBe(60);
    expect([...captures.values()].filter((splits) => splits.size > 1)).toEqual([]);
    expect([...captures.values()].filter((splits) => splits.has('test')).length).toBeGreaterThan(3);
    expect(before.summary.split_groups).toMatchObject({ groups: 60, matched_groups: 60, grouped_images: 180, images_per_group: { min: 3, mean: 3, max: 3 } });

    await capture(root, 60, 120);
    const after = new Map((await build()).manifest.map((m) => [m.path, m.split]));
    expect(before.manifest.filter((m) => after.get(m.path) !== m.split)).toEqual([]);
  });

  it('with group_by "file" every image is split on its own (so views do straddle splits)', async () => {
    const root = tempProject('filter-pergroup-');
    await capture(root, 0, 60);
    const { manifest, summary } = await buildDataset({ projectRoot: root, sources: [photos], targets: TARGETS, colors: colors.value, split: splitConfig({ group_by: 'file' }), rules: { min_size: 16, extensions: ['.jpg'], min_test_per_part: 0, min_val_per_part: 0 }, log: quiet });
    expect([...capturesOf(manifest).values()].filter((splits) => splits.size > 1).length).toBeGreaterThan(10);
    expect(summary.split_groups).toMatchObject({ groups: 180, matched_groups: 0, images_per_group: { min: 1, max: 1 } });
  });

  it('a custom regex: its first capture group is the capture id', async () => {
    const root = tempProject('filter-regex-');
    for (let c = 0; c < 30; c++) for (let v = 0; v < 2; v++) await writeImage(root, `data/photos/3001/cap${c}-angle${v}.jpg`, c * 2 + v, 40);
    const { manifest, summary } = await buildDataset({ projectRoot: root, sources: [photos], targets: TARGETS, colors: colors.value, split: splitConfig({ group_by: '(cap\\d+)-angle\\d' }), rules: { min_size: 16, extensions: ['.jpg'], min_test_per_part: 0, min_val_per_part: 0 }, log: quiet });
    const byGroup = new Map<string, Set<string>>();
    for (const m of manifest) byGroup.set(m.group!, (byGroup.get(m.group!) ?? new Set()).add(m.split));
    expect(byGroup.size).toBe(30);
    expect([...byGroup.values()].every((s) => s.size === 1)).toBe(true);
    expect(summary.split_groups.groups).toBe(30);
  });

  it('the stage prints how many groups and images per group', async () => {
    const root = tempProject('filter-groups-stage-');
    await capture(root, 0, 12);
    const r = runStage(root, 'filter', { sources: [photos], split: { evaluate_on: 'photos', train: 0.7, val: 0.15, test: 0.15 }, filter: { min_test_per_part: 0, min_val_per_part: 0 }, capture_plan: { tiers: { B: { angles: 6, colors: 3 } } } }, ['artifacts/dataset']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/filter: split by capture \(split.group_by \/.+\/\): 12 groups, 12 of them views of one capture \(36 images\); images per group 3-3, mean 3/);
    const summary = JSON.parse(readFileSync(join(root, 'artifacts/dataset/summary.json'), 'utf8')) as { split_groups: { groups: number } };
    expect(summary.split_groups.groups).toBe(12);
  });

  it('rejects a group_by that is not a regular expression, at its line in config/data.yaml', () => {
    const root = tempProject('filter-badregex-');
    const r = parseDataConfig({ sources: [photos], split: { evaluate_on: 'photos', group_by: '(unclosed', train: 0.7, val: 0.15, test: 0.15 } }, join(root, 'nowhere.yaml'), ['split']);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(/split.group_by is not a valid regular expression/);
  });
});
