import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { repoDataConfig, runStage, tempProject } from '../filter/project-rig.ts';

/** A small synth config: 3 target parts, 1 legacy image per part and color, a few b200c and real. */
function tinyProject(prefix: string): string {
  const root = tempProject(prefix);
  writeFileSync(
    join(root, 'config/target_parts.json'),
    JSON.stringify({ parts: [{ id: '3001', name: 'Brick 2 x 4' }, { id: '3039', name: 'Slope 45 2 x 2' }, { id: '4073', name: 'Plate Round 1 x 1' }] }),
  );
  return root;
}

function synthParams(seed: number, workers: number) {
  const synth = structuredClone(repoDataConfig()['synth']) as Record<string, Record<string, unknown> | unknown>;
  return {
    synth: {
      ...(synth as object),
      seed,
      workers,
      legacy: { size: 64, per_part_color: 1, format: 'png' },
      b200c: { size: 64, per_part: 3, format: 'jpeg' },
      real: { size: 96, per_part: 6, colors_per_part: 2, off_head_fraction: 0.2, format: 'jpeg' },
      extra_parts: ['3795'],
    },
  };
}

function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

describe('synth stage', () => {
  it('writes byte-identical datasets for the same seed (2 worker threads or none) and different ones for another seed', () => {
    const a = tinyProject('synth-a-');
    const b = tinyProject('synth-b-');
    const c = tinyProject('synth-c-');
    for (const [root, seed, workers] of [[a, 7, 2], [b, 7, 0], [c, 8, 0]] as const) {
      const r = runStage(root, 'synth', synthParams(seed, workers), ['data/synthetic']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/synth: 91 images \(legacy 64, b200c 9, real 18\) in [\d.]+ s, [\d.]+ images\/s/);
    }
    const [ta, tb, tc] = [a, b, c].map((r) => tree(join(r, 'data/synthetic')));
    expect(ta!.size).toBe(92); // 91 images + synth.json
    expect([...ta!]).toEqual([...tb!]);
    const same = [...tc!].filter(([p, h]) => ta!.get(p) === h).map(([p]) => p);
    expect(same).toEqual([]);
  });

  it('lays the sources out as DESIGN.md says: <part>/<color>/ for legacy and real, <part>/ for b200c', async () => {
    const root = tinyProject('synth-layout-');
    expect(runStage(root, 'synth', synthParams(1, 0), ['data/synthetic']).status).toBe(0);
    const files = [...tree(join(root, 'data/synthetic')).keys()].sort();
    const legacy = files.filter((f) => f.startsWith('legacy/'));
    const b200c = files.filter((f) => f.startsWith('b200c/'));
    const real = files.filter((f) => f.startsWith('real/'));
    expect(legacy.every((f) => /^legacy\/\d+\/\d+\/[^/]+\.png$/.test(f))).toBe(true);
    expect(new Set(legacy.map((f) => f.split('/')[1]))).toEqual(new Set(['3001', '3039', '4073', '3795'])); // the extra part is legacy only
    expect(new Set(legacy.map((f) => f.split('/')[2])).size).toBe(16); // every head color
    expect(b200c.every((f) => /^b200c\/(3001|3039|4073)\/[^/]+\.jpg$/.test(f))).toBe(true);
    expect(real.every((f) => /^real\/(3001|3039|4073)\/\d+\/[^/]+\.jpg$/.test(f))).toBe(true);
    const meta = await sharp(join(root, 'data/synthetic', b200c[0]!)).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([64, 64, 'jpeg']);
    const realMeta = await sharp(join(root, 'data/synthetic', real[0]!)).metadata();
    expect([realMeta.width, realMeta.format]).toEqual([96, 'jpeg']);
  });

  it('rejects a bad synth setting naming the key', () => {
    const root = tinyProject('synth-bad-');
    const params = synthParams(1, 0);
    const r = runStage(root, 'synth', { synth: { ...params.synth, legacy: { size: 8, per_part_color: 1 } } }, ['data/synthetic']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('config/data.yaml: synth.legacy.size: must be >= 16');
  });
});
