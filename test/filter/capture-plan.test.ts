import { describe, expect, it } from 'vitest';
import { planCaptures } from '../../src/ml/dataset/capture-plan.ts';
import { runCli, tempProject, writeFile, writeImage } from './project-rig.ts';

const colors = [
  { id: 4, name: 'Red', rgb: 'C91A09' },
  { id: 15, name: 'White', rgb: 'FFFFFF' },
];
const tiers = { default_tier: 'B', tiers: { A: { angles: 3, colors: 2 }, B: { angles: 2, colors: 1 } } };

describe('capture plan', () => {
  it('counts captures per color up to the tier angles, lists important parts first, and totals what is still missing', () => {
    const captures = [
      ...Array.from({ length: 5 }, () => ({ partId: '3003', colorId: 4 })), // 5 red: only 3 angles count
      { partId: '3003', colorId: 9999 }, // unknown color: helps the part head only
      { partId: '3001', colorId: 15 },
    ];
    const plan = planCaptures(captures, [{ id: '3001', name: 'Brick 2 x 4' }, { id: '3003', name: 'Brick 2 x 2', tier: 'A' }], colors, tiers);
    expect(plan.parts.map((p) => [p.id, p.tier, p.have, p.needed, p.missing, p.unknown_color])).toEqual([
      ['3003', 'A', 3, 6, 3, 1],
      ['3001', 'B', 1, 2, 1, 0],
    ]);
    expect(plan.total_missing).toBe(4);
    expect(plan.complete_parts).toBe(0);
  });

  it('counts part-only photos (no color labels anywhere) toward their part', async () => {
    const root = tempProject('capture-plan-partonly-');
    writeFile(root, 'pipeline.yaml', 'stages: {}\n');
    writeFile(root, 'config/target_parts.json', JSON.stringify({ parts: [{ id: '3001', name: 'Brick 2 x 4', tier: 'A' }, { id: '3003', name: 'Brick 2 x 2' }] }));
    writeFile(root, 'config/data.yaml', 'sources:\n  - {name: photos, path: photos, layout: part, use: split}\nsplit: {evaluate_on: photos, train: 0.7, val: 0.15, test: 0.15}\nfilter: {}\ncapture_plan:\n  default_tier: B\n  tiers: {A: {angles: 3, colors: 2}, B: {angles: 2, colors: 1}}\n');
    for (let i = 0; i < 4; i++) await writeImage(root, `photos/3001/${i}_front.jpg`, i);
    for (let i = 0; i < 5; i++) await writeImage(root, `photos/3003/${i}_front.jpg`, 10 + i);
    const r = runCli(root, ['capture-plan']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/3001 +Brick 2 x 4 +A +4\/6 +2 +4 photo\(s\), no color labels/);
    expect(r.stdout).toMatch(/3003 +Brick 2 x 2 +B +2\/2 +done/);
    expect(r.stdout).toContain('Still to photograph: 2 images (6/8 done; 1 of 2 parts complete)');
  });

  it('`pipeline capture-plan` reads the real captures on disk and prints what is still to photograph', async () => {
    const root = tempProject('capture-plan-');
    writeFile(root, 'pipeline.yaml', 'stages: {}\n');
    writeFile(root, 'config/target_parts.json', JSON.stringify({ parts: [{ id: '3001', name: 'Brick 2 x 4', tier: 'A' }, { id: '3003', name: 'Brick 2 x 2' }] }));
    writeFile(
      root,
      'config/data.yaml',
      'sources:\n  - {name: real, path: captures, layout: part_color, use: split}\n  - {name: legacy, path: renders, layout: part_color, use: train}\nfilter: {}\ncapture_plan:\n  default_tier: B\n  tiers: {A: {angles: 3, colors: 2}, B: {angles: 2, colors: 1}}\n',
    );
    for (let i = 0; i < 4; i++) await writeImage(root, `captures/3001/4/${i}.jpg`, i);
    await writeImage(root, 'captures/3003/15/0.jpg', 9);
    for (let i = 0; i < 3; i++) await writeImage(root, `renders/3003/15/${i}.png`, 20 + i); // train-only renders do not count
    const text = runCli(root, ['capture-plan']);
    expect(text.stderr).toBe('');
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/3001 +Brick 2 x 4 +A +3\/6 +3 +Red 3\/3, 1 more color x 3 angles/);
    expect(text.stdout).toMatch(/3003 +Brick 2 x 2 +B +1\/2 +1 +White 1\/2/);
    expect(text.stdout).toContain('Still to photograph: 4 images (4/8 done; 0 of 2 parts complete)');
    const json = JSON.parse(runCli(root, ['capture-plan', '--json']).stdout) as { total_missing: number };
    expect(json.total_missing).toBe(4);
  });

  it('`pipeline capture-plan` counts the captures of every folder of a multi-folder source', async () => {
    const root = tempProject('capture-plan-multi-');
    writeFile(root, 'pipeline.yaml', 'stages: {}\n');
    writeFile(root, 'config/target_parts.json', JSON.stringify({ parts: [{ id: '3001', name: 'Brick 2 x 4' }] }));
    writeFile(root, 'config/data.yaml', 'sources:\n  - {name: real, path: [demo, data/captures], layout: part_color, use: split}\nfilter: {}\ncapture_plan: {tiers: {B: {angles: 4, colors: 1}}}\n');
    await writeImage(root, 'demo/3001/4/0.jpg', 1);
    writeFile(root, 'data/captures/README.md', 'layout: <part_id>/<color_id>/<image>\n');
    for (let i = 0; i < 2; i++) await writeImage(root, `data/captures/3001/4/${i}.jpg`, 10 + i);
    const r = runCli(root, ['capture-plan']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/3001 +Brick 2 x 4 +B +3\/4 +1 +Red 3\/4/);
  });
});
