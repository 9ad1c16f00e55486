// The label sets: config/colors.json (the color head) and config/target_parts.json (the part head).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkAgainstSchema } from '../../config/schema.ts';
import { at, type ColorEntry } from './data-config.ts';

/** Color id for "unknown" (B200C, or a color the head does not have). */
export const UNKNOWN_COLOR = 9999;

export interface TargetPart {
  id: string;
  name: string;
  /** Capture-plan priority tier (config/data.yaml capture_plan.tiers); default tier when absent. */
  tier?: string;
}

/** labels.json as docs/contracts.md fixes it: array index = class index of the head. */
export interface Labels {
  parts: string[];
  colors: ColorEntry[];
  /**
   * True when the data has no color labels at all: the color head learns nothing, so
   * evaluate reports color as n/a and predict/serve return no color. Absent otherwise.
   */
  part_only?: true;
}

export type LoadResult<T> = { ok: true; value: T } | { ok: false; message: string };

const SCHEMAS = join(dirname(fileURLToPath(import.meta.url)), '../../../schemas');

/** Reads a label file and checks it against schemas/<schema>; every error at file:line:col. */
function loadChecked(file: string, displayName: string, schema: string): LoadResult<unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { ok: false, message: `${displayName}: cannot read (${(e as Error).message})` };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text) as unknown;
  } catch (e) {
    return { ok: false, message: `${displayName}: invalid JSON (${(e as Error).message})` };
  }
  const check = checkAgainstSchema(doc, join(SCHEMAS, schema));
  if (check.ok) return { ok: true, value: doc };
  const problems = check.errors.map((e) => {
    const path = e.instancePath.split('/').slice(1);
    const key = path.join('.') || '(top level)';
    const detail = e.keyword === 'additionalProperties' ? `has an unknown key "${String(e.params['additionalProperty'])}"` : e.keyword === 'not' ? `must not be ${UNKNOWN_COLOR} (it means unknown)` : (e.message ?? 'is invalid');
    return `${at(file, displayName, path)}: ${key} ${detail}`;
  });
  return { ok: false, message: [...new Set(problems)].join('\n') };
}

/** Reads config/colors.json (schemas/colors.schema.json): `{"colors": [{"id", "name", "rgb"}]}`, ids unique. */
export function loadColors(file: string, displayName = file): LoadResult<ColorEntry[]> {
  return loadHead<ColorEntry>(file, displayName, 'colors', 'colors.schema.json');
}

/** Reads config/target_parts.json (schemas/target_parts.schema.json): `{"parts": [{"id", "name", "tier"?}]}`, ids unique. */
export function loadTargetParts(file: string, displayName = file): LoadResult<TargetPart[]> {
  return loadHead<TargetPart>(file, displayName, 'parts', 'target_parts.schema.json');
}

/** The `key` array of a head file, schema-checked, with every id used once (a repeat is pointed at). */
function loadHead<T extends { id: string | number }>(file: string, displayName: string, key: string, schema: string): LoadResult<T[]> {
  const doc = loadChecked(file, displayName, schema);
  if (!doc.ok) return doc;
  const items = (doc.value as Record<string, T[]>)[key]!;
  const seen = new Map<string | number, number>();
  for (const [i, item] of items.entries()) {
    const first = seen.get(item.id);
    if (first !== undefined) return { ok: false, message: `${at(file, displayName, [key, String(i), 'id'])}: ${key}.${i}.id ${JSON.stringify(item.id)} is already used by ${key}.${first}` };
    seen.set(item.id, i);
  }
  return { ok: true, value: items };
}
