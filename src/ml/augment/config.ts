// The augment-cache settings (config/augment.yaml's `augment` key): their types, and the
// check against schemas/augment.schema.json that also fills the documented defaults.
import { fileURLToPath } from 'node:url';
import { checkValues, placeIn, type ConfigRef } from '../../config/check-values.ts';

export interface AugmentOps {
  rotate90: { p: number };
  horizontal_flip: { p: number };
  shift_scale_rotate: { p: number; shift: number; scale: number; rotate_deg: number };
  brightness_contrast: { p: number; brightness: number; contrast: number };
  hue_saturation_value: { p: number; hue: number; saturation: number; value: number };
  gauss_noise: { p: number; var_min: number; var_max: number };
  gaussian_blur: { p: number; kernels: number[] };
  coarse_dropout: { p: number; max_holes: number; hole_px: number; hole_px_at: number };
}

export interface AugmentConfig {
  variants: number;
  /** The scale the ops' probabilities were multiplied by (the profile's, else the base one). */
  probability_scale: number;
  seed: number;
  workers: number | 'auto';
  source_weights: Record<string, number>;
  contact_sheet: { originals: number; cell_px: number };
  ops: AugmentOps;
}

export type ConfigResult = { ok: true; config: AugmentConfig } | { ok: false; message: string };

const SCHEMA = fileURLToPath(new URL('../../../schemas/augment.schema.json', import.meta.url));

/**
 * Checks the raw `augment` value against the schema and fills defaults (so `{}` is the
 * plan's configuration). `file` names the config file in messages (`abs` finds its lines).
 * `profile` (config/training.yaml's) picks `profiles[profile].probability_scale` over the
 * base one; every op's p comes out multiplied by that scale (at most 1), so the blobs' keys
 * and the recipes see the probabilities actually used.
 */
export function parseAugmentConfig(raw: unknown, file: string | ConfigRef = 'config/augment.yaml', profile = 'base'): ConfigResult {
  const ref = typeof file === 'string' ? { name: file } : file;
  const value = { augment: structuredClone(raw ?? {}) as unknown };
  const problems = checkValues(value, SCHEMA, ref);
  if (problems.length > 0) return { ok: false, message: problems.join('\n') };
  const { profiles, ...config } = value.augment as AugmentConfig & { profiles: Record<string, { probability_scale?: number }> };
  const noise = config.ops.gauss_noise;
  if (noise.var_min > noise.var_max) {
    return { ok: false, message: `${placeIn(ref, ['augment', 'ops', 'gauss_noise'])}: augment.ops.gauss_noise: var_min (${noise.var_min}) is above var_max (${noise.var_max})` };
  }
  const names = Object.keys(profiles);
  if (names.length > 0 && profile !== 'base' && !names.includes(profile)) {
    return { ok: false, message: `${placeIn(ref, ['augment', 'profiles'])}: profile '${profile}' (config/training.yaml) has no entry under augment.profiles (has: ${names.join(', ')})` };
  }
  config.probability_scale = profiles[profile]?.probability_scale ?? config.probability_scale;
  for (const op of Object.values(config.ops) as { p: number }[]) op.p = Math.min(1, op.p * config.probability_scale);
  return { ok: true, config };
}

/** The plan's configuration (every default of the schema). */
export function defaultAugmentConfig(): AugmentConfig {
  const parsed = parseAugmentConfig({});
  if (!parsed.ok) throw new Error(`schema defaults do not validate: ${parsed.message}`);
  return parsed.config;
}

/**
 * The loss weight of a sample from `source`: its own entry, else `evaluated` when it is the
 * evaluated source (config/data.yaml split.evaluate_on), else `default`.
 */
export function sourceWeight(config: AugmentConfig, source: string, evaluated: string | undefined): number {
  const w = config.source_weights;
  return w[source] ?? (source === evaluated ? w['evaluated'] : undefined) ?? w['default'] ?? 1;
}

/** How many worker threads `workers` means on this machine. */
export function workerCount(workers: AugmentConfig['workers'], cores: number): number {
  return workers === 'auto' ? Math.max(1, cores) : workers;
}
