// Turns the synth settings into the list of images to render: which part, color, source and seed, and where it goes.
import type { ColorEntry, SynthConfig } from '../ml/dataset/data-config.ts';
import { PART_CATALOGUE } from './parts.ts';
import { Rng, seedFrom } from '../ml/random.ts';
import type { RenderJob } from './render-image.ts';

/** A job and the file it becomes, relative to the output folder (DESIGN.md's data layout). */
export interface PlannedImage {
  job: RenderJob;
  relPath: string;
}

export interface SynthPlan {
  images: PlannedImage[];
  /** Target parts the renderer has no geometry for (skipped, reported). */
  skippedParts: string[];
}

const ext = (format: 'png' | 'jpeg'): string => (format === 'png' ? 'png' : 'jpg');
const pad = (i: number): string => String(i).padStart(4, '0');

/**
 * Plans the three demo sources: legacy (every part in every head color), b200c (part folders
 * only, any color), real (each part in a few colors, a few captures off the head's colors).
 */
export function planSynth(config: SynthConfig, targetParts: readonly string[], headColors: readonly ColorEntry[]): SynthPlan {
  const known = (id: string) => PART_CATALOGUE.has(id);
  const parts = targetParts.filter(known);
  const skippedParts = targetParts.filter((id) => !known(id));
  const legacyParts = [...parts, ...config.extra_parts.filter((id) => known(id) && !parts.includes(id))];
  const allColors = [...headColors, ...config.extra_colors];
  const images: PlannedImage[] = [];
  const { seed, supersample } = config;

  const { legacy, b200c, real } = config;
  for (const part of legacyParts)
    for (const color of headColors)
      for (let i = 0; i < legacy.per_part_color; i++)
        images.push({
          relPath: `legacy/${part}/${color.id}/legacy_${part}_${color.id}_${pad(i)}.${ext(legacy.format)}`,
          job: { source: 'legacy', partId: part, rgb: color.rgb, seed: seedFrom(seed, 'legacy', part, color.id, i), size: legacy.size, supersample, format: legacy.format, quality: legacy.quality },
        });

  for (const part of parts) {
    const rng = new Rng(seedFrom(seed, 'b200c-colors', part));
    for (let i = 0; i < b200c.per_part; i++)
      images.push({
        relPath: `b200c/${part}/${part}_${pad(i)}.${ext(b200c.format)}`,
        job: { source: 'b200c', partId: part, rgb: rng.pick(allColors).rgb, seed: seedFrom(seed, 'b200c', part, i), size: b200c.size, supersample, format: b200c.format, quality: b200c.quality },
      });
  }

  for (const part of parts) {
    const rng = new Rng(seedFrom(seed, 'real-colors', part));
    const palette = shuffled(headColors, rng).slice(0, Math.min(real.colors_per_part, headColors.length));
    for (let i = 0; i < real.per_part; i++) {
      const offHead = config.extra_colors.length > 0 && rng.chance(real.off_head_fraction);
      const color = offHead ? rng.pick(config.extra_colors) : palette[i % palette.length]!;
      images.push({
        relPath: `real/${part}/${color.id}/real_${part}_${pad(i)}.${ext(real.format)}`,
        job: { source: 'real', partId: part, rgb: color.rgb, seed: seedFrom(seed, 'real', part, i), size: real.size, supersample, format: real.format, quality: real.quality },
      });
    }
  }
  return { images, skippedParts };
}

function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
