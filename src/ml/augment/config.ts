// The augment-cache settings (config/augment.yaml's `augment` key): their types, and the
// check against schemas/augment.schema.json that also fills the documented defaults.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';

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
  seed: number;
  workers: number | 'auto';
  source_weights: Record<string, number>;
  contact_sheet: { originals: number; cell_px: number };
  ops: AugmentOps;
}

export type ConfigResult = { ok: true; config: AugmentConfig } | { ok: false; message: string };

const schemaPath = join(dirname(fileURLToPath(import.meta.url)), '../../../schemas/augment.schema.json');

/** The compiled schema, made once per process (compiling costs ~100 ms). */
let compiled: ValidateFunction | undefined;
function validator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: true, useDefaults: true }).compile(JSON.parse(readFileSync(schemaPath, 'utf8')) as object);
  return compiled;
}

/**
 * Checks the raw `augment` value against the schema and fills defaults (so `{}` is the
 * plan's configuration). `file` names the config file in messages.
 */
export function parseAugmentConfig(raw: unknown, file = 'config/augment.yaml'): ConfigResult {
  const validate = validator();
  const value = structuredClone(raw ?? {}) as unknown;
  if (!validate(value)) {
    const lines = (validate.errors ?? []).map((e) => `  augment${e.instancePath.replaceAll('/', '.')}: ${e.message ?? ''}`);
    return { ok: false, message: `${file}: invalid augment settings:\n${[...new Set(lines)].join('\n')}` };
  }
  const config = value as AugmentConfig;
  const noise = config.ops.gauss_noise;
  if (noise.var_min > noise.var_max) {
    return { ok: false, message: `${file}: augment.ops.gauss_noise: var_min (${noise.var_min}) is above var_max (${noise.var_max})` };
  }
  return { ok: true, config };
}

/** The plan's configuration (every default of the schema). */
export function defaultAugmentConfig(): AugmentConfig {
  const parsed = parseAugmentConfig({});
  if (!parsed.ok) throw new Error(`schema defaults do not validate: ${parsed.message}`);
  return parsed.config;
}

/** The loss weight of a sample from `source`. */
export function sourceWeight(config: AugmentConfig, source: string): number {
  return config.source_weights[source] ?? config.source_weights['default'] ?? 1;
}

/** How many worker threads `workers` means on this machine. */
export function workerCount(workers: AugmentConfig['workers'], cores: number): number {
  return workers === 'auto' ? Math.max(1, cores) : workers;
}
