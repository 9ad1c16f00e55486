import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { join } from 'node:path';
import { buildPartMesh, PART_CATALOGUE } from '../../src/synth/parts.ts';
import { rasterize } from '../../src/synth/rasterizer.ts';
import { renderImage, renderPixels, type RenderJob } from '../../src/synth/render-image.ts';
import { renderAll } from '../../src/synth/render-pool.ts';
import type { SourceName } from '../../src/synth/source-styles.ts';
import { mulMat, rotX, rotY } from '../../src/synth/vec.ts';
import { REPO } from '../filter/project-rig.ts';

const job = (source: SourceName, seed: number, partId = '3001'): RenderJob => ({
  source,
  partId,
  rgb: 'C91A09',
  seed,
  size: source === 'b200c' ? 64 : 96,
  supersample: 2,
  format: source === 'legacy' ? 'png' : 'jpeg',
  quality: 85,
});

/** Mean luminance, luminance spread and colourfulness (max - min channel) of the 3-pixel border: the background. */
function borderStats(source: SourceName, seed: number) {
  const { pixels, size } = renderPixels(job(source, seed, ['3001', '3024', '3039', '3062'][seed % 4]));
  const lum: number[] = [];
  let chroma = 0;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      if (x >= 3 && y >= 3 && x < size - 3 && y < size - 3) continue;
      const p = [0, 1, 2].map((c) => pixels[(y * size + x) * 3 + c]!);
      lum.push((p[0]! + p[1]! + p[2]!) / 3);
      chroma += Math.max(...p) - Math.min(...p);
    }
  const mean = lum.reduce((a, b) => a + b, 0) / lum.length;
  const std = Math.sqrt(lum.reduce((a, b) => a + (b - mean) ** 2, 0) / lum.length);
  return { mean, std, chroma: chroma / lum.length };
}

const average = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('renderer', () => {
  it('renders the same bytes for the same job, in this thread or in worker threads', async () => {
    const jobs = (['legacy', 'b200c', 'real'] as const).flatMap((s) => [job(s, 1), job(s, 2, '3039')]);
    const here = await Promise.all(jobs.map((j) => renderImage(j)));
    const again = await Promise.all(jobs.map((j) => renderImage(j)));
    const threaded: Buffer[] = [];
    await renderAll(jobs, 2, (i, bytes) => void (threaded[i] = bytes));
    expect(again.every((b, i) => b.equals(here[i]!))).toBe(true);
    expect(threaded.every((b, i) => b.equals(here[i]!))).toBe(true);
    expect(here[0]!.equals(here[1]!)).toBe(false); // another seed and part: another picture
  });

  it('gives each source its own background: catalogue white or randomised backdrops, colourful floors, an off-white noisy belt', () => {
    const seeds = Array.from({ length: 16 }, (_, i) => 100 + i);
    const legacy = seeds.map((s) => borderStats('legacy', s));
    const b200c = seeds.map((s) => borderStats('b200c', s));
    const real = seeds.map((s) => borderStats('real', s));
    for (const s of real) {
      expect(s.mean).toBeGreaterThan(120);
      expect(s.mean).toBeLessThan(240);
      expect(s.chroma).toBeLessThan(40); // off-white, only a white-balance tint (up to +-8% a channel)
      expect(s.std).toBeGreaterThan(2); // belt texture, vignette and sensor noise
    }
    expect(average(b200c.map((s) => s.chroma))).toBeGreaterThan(2 * average(real.map((s) => s.chroma)));
    expect(average(b200c.map((s) => s.std))).toBeGreaterThan(average(real.map((s) => s.std)));
    // Legacy: some catalogue renders on pure white, but white is not what a legacy image looks like.
    const white = legacy.filter((s) => s.mean === 255 && s.std === 0).length;
    expect(white).toBeGreaterThan(0);
    expect(white).toBeLessThan(seeds.length / 2);
  });

  it('puts legacy renders on backdrops of many brightnesses and hues (white is no shortcut)', () => {
    const legacy = Array.from({ length: 16 }, (_, i) => borderStats('legacy', 200 + i));
    const means = legacy.map((s) => s.mean);
    expect(Math.min(...means)).toBeLessThan(128); // dark backdrops as well as light ones
    expect(Math.max(...means) - Math.min(...means)).toBeGreaterThan(100);
    expect(legacy.filter((s) => s.chroma > 40).length).toBeGreaterThan(4); // coloured, not only greys
  });

  it('darkens the corners of real captures (vignette)', () => {
    let corner = 0, edgeMiddle = 0;
    for (let seed = 0; seed < 6; seed++) {
      const { pixels, size } = renderPixels(job('real', seed, '3024'));
      const lum = (x: number, y: number) => (pixels[(y * size + x) * 3]! + pixels[(y * size + x) * 3 + 1]! + pixels[(y * size + x) * 3 + 2]!) / 3;
      corner += lum(1, 1) + lum(size - 2, 1) + lum(1, size - 2) + lum(size - 2, size - 2);
      edgeMiddle += lum(size / 2, 1) + lum(1, size / 2) + lum(size - 2, size / 2) + lum(size / 2, size - 2);
    }
    expect(corner).toBeLessThan(edgeMiddle * 0.97);
  });

  it('shows real parts at their real size, as a fixed camera does: a 2 x 4 brick covers many times the pixels of a 1 x 1 plate', async () => {
    // Pixels of the part (red, C91A09) against the off-white belt, averaged over poses.
    const partShare = (partId: string) =>
      average(
        Array.from({ length: 6 }, (_, seed) => {
          const { pixels, size } = renderPixels(job('real', seed, partId));
          let red = 0;
          for (let i = 0; i < size * size; i++) if (pixels[i * 3]! - pixels[i * 3 + 1]! > 60) red++;
          return red / (size * size);
        }),
      );
    const brick2x4 = partShare('3001'), brick2x2 = partShare('3003'), plate1x1 = partShare('3024');
    // Seen from the rig: 2 x 4 vs 1 x 1 footprint is 8:1 (the brick's taller sides add more).
    expect(brick2x4 / plate1x1).toBeGreaterThan(5);
    expect(brick2x4).toBeGreaterThan(brick2x2);
    expect(brick2x4).toBeLessThan(0.6); // the crop has a margin round the largest target part
    const meta = await sharp(await renderImage(job('real', 1, '3024'))).metadata();
    expect([meta.width, meta.height]).toEqual([96, 96]);
  });

  it('draws every part with its own silhouette (no two parts overlap by 95% or more from the same view)', () => {
    const ids = [...PART_CATALOGUE.keys()];
    const masks = ids.map(
      (id) =>
        rasterize(
          [{ mesh: buildPartMesh(PART_CATALOGUE.get(id)!.shape), rotation: mulMat(rotX(0.6), rotY(0.5)), offset: [0, 0, 0], albedo: [1, 0, 0], specular: 0 }],
          { size: 128, distance: 200, focal: 400 },
          [],
          [1, 1, 1],
        ).coverage,
    );
    const overlaps: string[] = [];
    for (let i = 0; i < ids.length; i++)
      for (let j = i + 1; j < ids.length; j++) {
        let inter = 0, union = 0;
        for (let k = 0; k < masks[i]!.length; k++) {
          const a = masks[i]![k]! > 0, b = masks[j]![k]! > 0;
          if (a && b) inter++;
          if (a || b) union++;
        }
        if (inter / union >= 0.95) overlaps.push(`${ids[i]} vs ${ids[j]}: IoU ${(inter / union).toFixed(3)}`);
      }
    expect(masks.every((m) => m.some((v) => v > 0))).toBe(true);
    expect(overlaps).toEqual([]);
  });

  it('has geometry for every target part in config/target_parts.json', () => {
    const targets = (JSON.parse(readFileSync(join(REPO, 'config/target_parts.json'), 'utf8')) as { parts: { id: string }[] }).parts;
    expect(targets.filter((t) => !PART_CATALOGUE.has(t.id))).toEqual([]);
    expect(targets.length).toBeGreaterThanOrEqual(20);
  });
});
