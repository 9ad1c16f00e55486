// The label sets: config/colors.json (the color head) and config/target_parts.json (the part head).
import { readFileSync } from 'node:fs';
import type { ColorEntry } from './data-config.ts';

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

/** Reads config/colors.json: `{"colors": [{"id", "name", "rgb"}]}`, ids unique. */
export function loadColors(file: string, displayName = file): LoadResult<ColorEntry[]> {
  const doc = readJson(file, displayName);
  if (!doc.ok) return doc;
  const colors = (doc.value as { colors?: unknown }).colors;
  if (!Array.isArray(colors)) return { ok: false, message: `${displayName}: expected {"colors": [...]}` };
  const seen = new Set<number>();
  for (const [i, c] of colors.entries()) {
    const entry = c as Partial<ColorEntry>;
    if (!Number.isInteger(entry.id) || typeof entry.name !== 'string' || !/^[0-9A-Fa-f]{6}$/.test(String(entry.rgb)))
      return { ok: false, message: `${displayName}: colors[${i}] needs an integer id, a name and a 6-digit hex rgb` };
    if (entry.id === UNKNOWN_COLOR) return { ok: false, message: `${displayName}: colors[${i}]: id ${UNKNOWN_COLOR} means unknown and cannot be a head color` };
    if (seen.has(entry.id!)) return { ok: false, message: `${displayName}: colors[${i}]: duplicate color id ${entry.id}` };
    seen.add(entry.id!);
  }
  return { ok: true, value: colors as ColorEntry[] };
}

/** Reads config/target_parts.json: `{"parts": [{"id", "name", "tier"?}]}`, ids unique. */
export function loadTargetParts(file: string, displayName = file): LoadResult<TargetPart[]> {
  const doc = readJson(file, displayName);
  if (!doc.ok) return doc;
  const parts = (doc.value as { parts?: unknown }).parts;
  if (!Array.isArray(parts) || parts.length === 0) return { ok: false, message: `${displayName}: expected {"parts": [...]} with at least one part` };
  const seen = new Set<string>();
  for (const [i, p] of parts.entries()) {
    const entry = p as Partial<TargetPart>;
    if (typeof entry.id !== 'string' || entry.id === '' || typeof entry.name !== 'string')
      return { ok: false, message: `${displayName}: parts[${i}] needs a string id and a name` };
    if (seen.has(entry.id)) return { ok: false, message: `${displayName}: parts[${i}]: duplicate part id ${entry.id}` };
    seen.add(entry.id);
  }
  return { ok: true, value: parts as TargetPart[] };
}

function readJson(file: string, displayName: string): LoadResult<unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { ok: false, message: `${displayName}: cannot read (${(e as Error).message})` };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return { ok: false, message: `${displayName}: invalid JSON (${(e as Error).message})` };
  }
}
