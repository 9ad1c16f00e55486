// The settings in config/data.yaml (demo dataset, sources, split, filter rules, capture plan):
// their types, and the check against schemas/data.schema.json with errors at file:line:col.
import { readFileSync } from 'node:fs';
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
  /** false: the demo renderer steps aside (the synth stage writes an empty folder and renders nothing). */
  enabled: boolean;
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
  /** Regex over the image's manifest path whose match (first capture group) is its capture; or `file` (split/split.ts). */
  group_by: string;
  /** The `use: split` source whose test split evaluate and export use (validation and test come from it). */
  evaluate_on: string;
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

const schemaPath = fileURLToPath(new URL('../../../schemas/data.schema.json', import.meta.url));

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
  const value = structuredClone(raw ?? {}) as DataConfig;
  const problems = checkValues(value, schemaPath, { name: displayName, abs: file }, (e, path) =>
    e.keyword === 'type' && path.length === 3 && path[0] === 'sources' && path[2] === 'path' ? `${path.join('.')}: must be a folder (a string) or a list of folders` : undefined);
  for (const key of required) if (value[key] === undefined) problems.push(`${displayName}: missing key "${key}"`);
  if (value.split) {
    const total = value.split.train + value.split.val + value.split.test;
    if (Math.abs(total - 1) > 1e-6) problems.push(`${at(file, displayName, ['split'])}: split.train + split.val + split.test must be 1 (is ${total})`);
    const groupProblem = regexProblem(value.split.group_by);
    if (groupProblem) problems.push(`${at(file, displayName, ['split', 'group_by'])}: split.group_by is not a valid regular expression (${groupProblem}); write one whose first capture group is the capture id, or "file"`);
    // split.evaluate_on names a use: split source: the schema's x-names-item (src/config/schema.ts).
  }
  const names = new Map<string, number>();
  for (const [i, source] of (value.sources ?? []).entries()) {
    const first = names.get(source.name);
    if (first !== undefined) problems.push(`${at(file, displayName, ['sources', String(i), 'name'])}: sources.${i}.name "${source.name}" is already used by sources.${first}`);
    else names.set(source.name, i);
    // One configured index cannot label several folders; each folder's own index.csv still works.
    if (source.index !== undefined && Array.isArray(source.path) && source.path.length > 1)
      problems.push(`${at(file, displayName, ['sources', String(i), 'index'])}: sources.${i}.index needs a single path (this source lists ${source.path.length}); put an index.csv at the root of each folder instead`);
  }
  if (value.capture_plan && !(value.capture_plan.default_tier in value.capture_plan.tiers))
    problems.push(`${at(file, displayName, ['capture_plan', 'default_tier'])}: capture_plan.default_tier "${value.capture_plan.default_tier}" is not one of the tiers`);
  if (problems.length > 0) return { ok: false, message: [...new Set(problems)].join('\n') };
  return { ok: true, value: value as DataConfig & Required<Pick<DataConfig, K>> };
}

/**
 * The source evaluate and export test on: `split.evaluate_on` of the params a stage was given
 * (`config/data.yaml: [split]`), checked; the schema's default when the stage has no split.
 */
export function evaluatedSource(raw: unknown, file: string, displayName = file): DataConfigResult<string> {
  const split = (raw as DataConfig | undefined)?.split;
  if (split === undefined) {
    const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as { properties: { split: { properties: { evaluate_on: { default: string } } } } };
    return { ok: true, value: schema.properties.split.properties.evaluate_on.default };
  }
  const parsed = parseDataConfig({ split }, file, ['split'], displayName);
  return parsed.ok ? { ok: true, value: parsed.value.split.evaluate_on } : parsed;
}

function regexProblem(pattern: string): string | null {
  try {
    new RegExp(pattern, 'i');
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * `file:line:col` of the node at `path` (keys and array indices) in a YAML or JSON file (JSON
 * parses as YAML, ranges included), or just the file when it cannot be found.
 */
export function at(file: string, displayName: string, path: readonly string[]): string {
  return placeIn({ name: displayName, abs: file }, path.map((p) => (/^\d+$/.test(p) ? Number(p) : p)));
}
