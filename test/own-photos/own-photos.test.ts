// The README's "Train on your own photos" recipe, end to end: a folder of part-only photos
// with three views per capture, the recipe's three edits, `pipeline run` in a real project.
import { cpSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { imageBytes, writeFile } from '../filter/project-rig.ts';
import { REPO_ROOT, TestProject, type CliResult } from '../helpers/project-rig.ts';

const PARTS = ['3001', '3003', '3020'];
const VIEWS = ['front', 'back', 'bottom'];
const CAPTURES_PER_PART = 16;

/** The captures the test photographs: `<timestamp>_<view>.jpg`, no color folder, as a sorting machine saves them. */
async function photograph(p: TestProject): Promise<void> {
  let seed = 1;
  for (const [k, part] of PARTS.entries())
    for (let c = 0; c < CAPTURES_PER_PART; c++)
      for (const view of VIEWS) writeFile(p.dir, `data/captures/${part}/17${k}${String(c).padStart(4, '0')}_${view}.jpg`, await imageBytes(seed++, 40, 'jpeg'));
}

/** The recipe's three edits (README "Train on your own photos"). */
function followRecipe(p: TestProject): void {
  const data = parseYaml(p.read('config/data.yaml')) as Record<string, Record<string, unknown> & unknown[]>;
  data['synth']!['enabled'] = false; // 1. the demo renderer steps aside
  data['sources'] = [{ name: 'photos', path: 'data/captures', layout: 'part', use: 'split' }] as never; // 2. your photos ...
  data['split']!['evaluate_on'] = 'photos'; // ... are what the model is tested on
  p.write('config/data.yaml', toYaml(data));
  p.write('config/target_parts.json', JSON.stringify({ parts: PARTS.map((id) => ({ id, name: `part ${id}` })) })); // 3. your parts
}

/** Not part of the recipe: a tiny model and few epochs, so the test runs in seconds. */
function tinyTraining(p: TestProject): void {
  const training = parseYaml(p.read('config/training.yaml')) as { model: Record<string, unknown>; training: { profiles: Record<string, Record<string, unknown>> } };
  training.model['input_size'] = 32;
  training.training.profiles['cpu'] = { epochs: 2, epoch_size: 64, batch_size: 16, lr: 3e-3, warmup_epochs: 0, patience: 5 };
  p.write('config/training.yaml', toYaml(training));
  const augment = parseYaml(p.read('config/augment.yaml')) as { augment: Record<string, unknown> };
  augment.augment['variants'] = 1;
  augment.augment['workers'] = 0;
  p.write('config/augment.yaml', toYaml(augment));
}

describe('train on your own photos (README recipe)', () => {
  let p: TestProject;
  let run: CliResult;

  beforeAll(async () => {
    p = TestProject.create();
    for (const d of ['stages', 'src', 'schemas', 'node_modules']) symlinkSync(join(REPO_ROOT, d), p.path(d));
    cpSync(join(REPO_ROOT, 'config'), p.path('config'), { recursive: true });
    p.write('pipeline.yaml', readFileSync(join(REPO_ROOT, 'pipeline.yaml'), 'utf8'));
    await photograph(p);
    followRecipe(p);
    tinyTraining(p);
    run = await p.cli('run');
  }, 600_000);
  afterAll(() => p.cleanup());

  it('runs without a failed stage; the exit status comes from the part gates (3: the tiny model misses them)', () => {
    const out = run.stdout + run.stderr;
    expect(run.stdout).toMatch(/^evaluate +ran /m);
    expect(run.stdout).not.toMatch(/^\S+ +failed /m);
    expect(run.code, out).toBe(3);
    expect(run.stdout).toMatch(/evaluate\s+part_top1\s+[\d.]+\s+>= 0\.90\s+FAIL/);
    expect(run.stdout).toMatch(/synth: the demo renderer is off/);
    expect(run.stdout).not.toMatch(/no geometry for target part/);
  });

  it('reports color as n/a: the data has no color labels, and its gate does not fail', async () => {
    expect(run.stdout).toMatch(/evaluate\s+color_acc\s+-\s+>= 0\.85\s+n\/a — the data has no color labels/);
    const metrics = JSON.parse(p.read('artifacts/metrics/evaluate.json')) as Record<string, unknown>;
    expect(metrics['color_acc']).toBeNull();
    expect(p.read('artifacts/reports/evaluate/index.html')).toContain('n/a — the data has no color labels');
    // With the part gates met, nothing fails: color does not count.
    p.write('pipeline.yaml', p.read('pipeline.yaml').replace('{part_top1: ">= 0.90", part_top5: ">= 0.98"', '{part_top1: ">= 0", part_top5: ">= 0"'));
    const gates = await p.cli('gates');
    expect(gates.stdout).toMatch(/export\s+parity_max_abs_diff\s+-\s+<= 0\.0001\s+not run/);
    expect(gates.code, gates.stdout).toBe(0);
    const { part_top1, part_top5, n_test } = metrics as Record<string, number>;
    console.log(`own photos: ${PARTS.length} parts x ${CAPTURES_PER_PART} captures x ${VIEWS.length} views; test images ${n_test}; part top-1 ${part_top1}, top-5 ${part_top5}; color ${String(metrics['color_acc'])}`);
  });

  it('keeps every view of a test capture out of train, and says how the split was grouped', () => {
    const manifest = p.read('artifacts/dataset/manifest.jsonl').trim().split('\n').map((l) => JSON.parse(l) as { path: string; split: string });
    expect(manifest).toHaveLength(PARTS.length * CAPTURES_PER_PART * VIEWS.length);
    const splitsOf = new Map<string, Set<string>>();
    for (const m of manifest) {
      const capture = m.path.replace(/_(front|back|bottom)\.jpg$/, '');
      splitsOf.set(capture, (splitsOf.get(capture) ?? new Set()).add(m.split));
    }
    const testCaptures = [...splitsOf].filter(([, s]) => s.has('test'));
    expect(testCaptures.length).toBeGreaterThan(0);
    expect(testCaptures.filter(([, s]) => s.size > 1)).toEqual([]);
    expect(run.stdout).toMatch(/filter: split by capture .*: 48 groups, 48 of them views of one capture \(144 images\); images per group 3-3/);
    expect(p.read('artifacts/reports/evaluate/index.html')).toMatch(/split grouped by.*48 groups/);
  });

  it('trains on the sources that exist: the logged curriculum mix names only them', () => {
    const train = p.read('.pipeline/logs/train.log');
    expect(train).toMatch(/mix \{"photos":1\}/);
    expect(train).not.toMatch(/legacy|b200c/);
  });
});
