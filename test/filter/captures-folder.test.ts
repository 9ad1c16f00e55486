import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ManifestEntry } from '../../src/ml/dataset/build-dataset.ts';
import { REPO, runStage, tempProject, writeFile, writeImage } from './project-rig.ts';

const SPLIT = { salt: 'test-salt', train: 0.7, val: 0.15, test: 0.15 };
const PLAN = { tiers: { B: { angles: 6, colors: 3 } } };
const REAL = { name: 'real', path: ['data/synthetic/real', 'data/captures'], layout: 'part_color', use: 'split' };
const params = (sources: unknown[] = [REAL]) => ({ sources, split: SPLIT, filter: { min_test_per_part: 0, min_val_per_part: 0 }, capture_plan: PLAN });

function manifestOf(root: string): Map<string, ManifestEntry> {
  const lines = readFileSync(join(root, 'artifacts/dataset/manifest.jsonl'), 'utf8').trim().split('\n');
  return new Map(lines.filter((l) => l !== '').map((l) => JSON.parse(l) as ManifestEntry).map((e) => [e.path, e]));
}

/** A project as a fresh clone has it: demo captures from synth, and data/captures holding only its README and .gitkeep. */
async function demoProject(prefix: string): Promise<string> {
  const root = tempProject(prefix);
  for (let i = 0; i < 30; i++) await writeImage(root, `data/synthetic/real/${i % 2 ? '3001' : '3003'}/4/real_${i}.jpg`, i);
  writeFile(root, 'data/captures/.gitkeep', '');
  writeFile(root, 'data/captures/README.md', readFileSync(join(REPO, 'data/captures/README.md')));
  return root;
}

describe('filter: a source with several folders (data/captures)', () => {
  it('reads an empty data/captures (README and .gitkeep only) without skipping anything', async () => {
    const root = await demoProject('captures-empty-');
    const r = runStage(root, 'filter', params(), ['artifacts/dataset']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(manifestOf(root).size).toBe(30);
    expect(readFileSync(join(root, 'artifacts/dataset/bad_files.jsonl'), 'utf8')).toBe('');
  });

  it('adds a capture dropped into data/captures to the manifest under the same source, and moves nothing already there', async () => {
    const root = await demoProject('captures-add-');
    expect(runStage(root, 'filter', params(), ['artifacts/dataset']).status).toBe(0);
    const before = manifestOf(root);
    for (let i = 100; i < 140; i++) await writeImage(root, `data/captures/3001/15/bench_${i}.jpg`, i);
    const r = runStage(root, 'filter', params(), ['artifacts/dataset']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/filter: 70 images kept \(real 70\)/);
    const after = manifestOf(root);
    const added = [...after.values()].filter((e) => e.path.startsWith('data/captures/'));
    expect(added).toHaveLength(40);
    expect(added[0]).toMatchObject({ path: 'data/captures/3001/15/bench_100.jpg', source: 'real', part_id: '3001', color_id: 15 });
    // Real captures are split, not all put in train.
    expect(new Set(added.map((e) => e.split))).toEqual(new Set(['train', 'val', 'test']));
    expect([...before].filter(([path, e]) => after.get(path)?.split !== e.split)).toEqual([]);
  });

  it("gives a capture the split its content decides, whichever folder of the source it sits in", async () => {
    const root = await demoProject('captures-stable-');
    for (let i = 200; i < 220; i++) await writeImage(root, `data/captures/3003/15/c_${i}.png`, i);
    expect(runStage(root, 'filter', params(), ['artifacts/dataset']).status).toBe(0);
    const inCaptures = manifestOf(root);
    // The same photos in a one-folder source elsewhere: same content, same split.
    for (let i = 200; i < 220; i++) await writeImage(root, `elsewhere/3003/15/c_${i}.png`, i);
    const alone = { name: 'real', path: 'elsewhere', layout: 'part_color', use: 'split' };
    expect(runStage(root, 'filter', params([alone]), ['artifacts/dataset']).status).toBe(0);
    const elsewhere = manifestOf(root);
    for (let i = 200; i < 220; i++)
      expect(elsewhere.get(`elsewhere/3003/15/c_${i}.png`)!.split).toBe(inCaptures.get(`data/captures/3003/15/c_${i}.png`)!.split);
  });

  it('fails naming the missing folder of a multi-folder source, and still reads the others', async () => {
    const root = await demoProject('captures-missing-');
    const r = runStage(root, 'filter', params([{ ...REAL, path: ['data/synthetic/real', 'data/captures', 'data/captures_typo'] }]), ['artifacts/dataset']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('filter: rule broken: source "real": folder does not exist: data/captures_typo (config/data.yaml sources)');
    expect(r.stdout).toMatch(/filter: 30 images kept \(real 30\)/);
  });
});

describe('config/data.yaml: a source path that is a list', () => {
  function configRun(sourceYaml: string, source: Record<string, unknown>) {
    const root = tempProject('captures-config-');
    writeFile(root, 'config/data.yaml', `sources:\n${sourceYaml}\nsplit: {train: 0.7, val: 0.15, test: 0.15}\ncapture_plan: {tiers: {B: {angles: 6, colors: 3}}}\n`);
    return runStage(root, 'filter', { sources: [source], split: SPLIT, capture_plan: PLAN }, ['artifacts/dataset']);
  }

  it('rejects a path that is neither a folder nor a list, naming file:line:col and key', () => {
    const r = configRun('  - {name: real, path: 42, layout: part_color, use: split}', { name: 'real', path: 42, layout: 'part_color', use: 'split' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('filter: config/data.yaml:2:24: sources.0.path: must be a folder (a string) or a list of folders');
  });

  it('points at the bad item of a path list, and at a folder listed twice', () => {
    const yaml = '  - name: real\n    path:\n      - data/captures\n      - {dir: data/more}\n      - data/captures\n    layout: part_color\n    use: split';
    const r = configRun(yaml, { name: 'real', path: ['data/captures', { dir: 'data/more' }, 'data/captures'], layout: 'part_color', use: 'split' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('config/data.yaml:5:9: sources.0.path.1: must be string');
    expect(r.stderr).toMatch(/config\/data\.yaml:4:7: sources\.0\.path: must NOT have duplicate items/);
  });

  it('rejects index: on a source with several folders', () => {
    const yaml = '  - {name: real, path: [a, b], layout: part_color, use: split, index: labels.csv}';
    const r = configRun(yaml, { name: 'real', path: ['a', 'b'], layout: 'part_color', use: 'split', index: 'labels.csv' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('config/data.yaml:2:71: sources.0.index needs a single path (this source lists 2)');
  });
});
