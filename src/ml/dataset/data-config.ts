// The settings in config/data.yaml (demo dataset, sources, split, filter rules, capture plan):
// their types, and the check against schemas/data.schema.json with errors at file:line:col.
import { fileURLToPath } from 'node:url';
import { checkValues, placeIn } from '../../config/check-values.ts';

export type ImageFormat = 'png' | 'jpeg';

export interface ColorEntry {
  id: number;
  name: string;
  /** RRGGBB hex. */
  rgb: string;
}

export interface SynthConfig {
  seed: number;
  workers: number;
  supersample: number;
  legacy: { size: number; per_part_color: number; format: ImageFormat; quality: number };
  b200c: { size: number; per_part: number; format: ImageFormat; quality: number };
  real: { size: number; per_part: number; colors_per_part: number; off_head_fraction: number; format: ImageFormat; quality: number };
  extra_parts: string[];
  extra_colors: ColorEntry[];
}

export interface SourceConfig {
  name: string;
  /** Project-relative (or absolute) folder, or several read as one source (see sourceFolders). */
  path: string | string[];
  /** `part_color`: <path>/<part>/<color>/<image>; `part`: <path>/<part>/<image> (color unknown). */
  layout: 'part_color' | 'part';
  /** `train`: every image goes to train; `split`: train/val/test by the split rules. */
  use: 'train' | 'split';
  /** index.csv relative to the source root; default: index.csv when it exists. Single-folder sources only. */
  index?: string;
}

/** The folders of a source, in the order configured: `path` as given, or a one-folder list. */
export function sourceFolders(source: Pick<SourceConfig, 'path'>): string[] {
  return typeof source.path === 'string' ? [source.path] : source.path;
}

export interface SplitConfig {
  salt: string;
  train: number;
  val: number;
  test: number;
}

export interface FilterRules {
  min_size: number;
  extensions: string[];
  min_test_per_part: number;
  min_val_per_part: number;
}

export interface CapturePlanConfig {
  default_tier: string;
  tiers: Record<string, { angles: number; colors: number }>;
}

export interface DataConfig {
  synth?: SynthConfig;
  sources?: SourceConfig[];
  split?: SplitConfig;
  filter?: FilterRules;
  capture_plan?: CapturePlanConfig;
}

export type DataConfigResult<T> = { ok: true; value: T } | { ok: false; message: string };

const SCHEMA = fileURLToPath(new URL('../../../schemas/data.schema.json', import.meta.url));

/**
 * Checks `raw` (all of config/data.yaml or the keys a stage was given) against the schema,
 * fills defaults, and insists on `required` top-level keys. `file` (absolute or project
 * relative, readable) is used to point errors at a line and column.
 */
export function parseDataConfig<K extends keyof DataConfig>(
  raw: unknown,
  file: string,
  required: readonly K[],
  displayName = file,
): DataConfigResult<DataConfig & Required<Pick<DataConfig, K>>> {
  const ref = { name: displayName, abs: file };
  const at = (path: readonly string[]): string => placeIn(ref, path.map((p) => (/^\d+$/.test(p) ? Number(p) : p)));
  const value = structuredClone(raw ?? {}) as DataConfig;
  const problems = checkValues(value, SCHEMA, ref, (e, path) =>
    e.keyword === 'type' && path.length === 3 && path[0] === 'sources' && path[2] === 'path' ? `${path.join('.')}: must be a folder (a string) or a list of folders` : undefined);
  for (const key of required) if (value[key] === undefined) problems.push(`${displayName}: missing key "${key}"`);
  if (value.split) {
    const total = value.split.train + value.split.val + value.split.test;
    if (Math.abs(total - 1) > 1e-6) problems.push(`${at(['split'])}: split.train + split.val + split.test must be 1 (is ${total})`);
  }
  const names = new Map<string, number>();
  for (const [i, source] of (value.sources ?? []).entries()) {
    const first = names.get(source.name);
    if (first !== undefined) problems.push(`${at(['sources', String(i), 'name'])}: sources.${i}.name "${source.name}" is already used by sources.${first}`);
    else names.set(source.name, i);
    // One configured index cannot label several folders; each folder's own index.csv still works.
    if (source.index !== undefined && Array.isArray(source.path) && source.path.length > 1)
      problems.push(`${at(['sources', String(i), 'index'])}: sources.${i}.index needs a single path (this source lists ${source.path.length}); put an index.csv at the root of each folder instead`);
  }
  if (value.capture_plan && !(value.capture_plan.default_tier in value.capture_plan.tiers))
    problems.push(`${at(['capture_plan', 'default_tier'])}: capture_plan.default_tier "${value.capture_plan.default_tier}" is not one of the tiers`);
  if (problems.length > 0) return { ok: false, message: [...new Set(problems)].join('\n') };
  return { ok: true, value: value as DataConfig & Required<Pick<DataConfig, K>> };
}
