// Reads parameter files (YAML or JSON) and picks the keys a stage lists, where a key may
// be a dotted path into nested objects (`model.input_size`).
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

/** Value of a listed key, or `undefined` when the file does not have it. */
export type ParamValues = Record<string, unknown>;

/** Parses a param file by extension: `.json` as JSON, anything else as YAML. */
export function parseParamFile(text: string, file: string): unknown {
  return file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
}

/** Reads `file` and returns the nested object made of just `keys` (dotted paths kept nested). */
export function readParamKeys(file: string, keys: readonly string[]): ParamValues {
  return pickKeys(parseParamFile(readFileSync(file, 'utf8'), file), keys);
}

/** The value at a dotted path, or `undefined`. */
export function valueAt(doc: unknown, dotted: string): unknown {
  let cur: unknown = doc;
  for (const part of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object' || !(part in cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Builds `{model: {input_size: 64}}` from `['model.input_size']`, so stages see the file's shape. */
export function pickKeys(doc: unknown, keys: readonly string[]): ParamValues {
  const out: ParamValues = {};
  for (const key of keys) {
    const value = valueAt(doc, key);
    if (value === undefined) continue;
    const parts = key.split('.');
    let target = out;
    for (const part of parts.slice(0, -1)) {
      const next = target[part];
      if (next === null || typeof next !== 'object') target[part] = {};
      target = target[part] as ParamValues;
    }
    target[parts[parts.length - 1]!] = value;
  }
  return out;
}
