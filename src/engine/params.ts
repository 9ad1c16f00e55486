// Params files (YAML or JSON): each is read through the one config loader, checked against
// its schema (by convention schemas/<file name without extension>.schema.json in the
// project) with the schema's defaults filled in, and read again only when it changes.
// A stage depends on the keys it lists, where a key may be a dotted path (`model.input_size`).
import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadConfig, type ConfigFile } from '../config/load-config.ts';
import type { Result } from './diagnostic.ts';

/** Value of a listed key, or `undefined` when the file does not have it. */
export type ParamValues = Record<string, unknown>;

/** The schema a params file is checked against: `schemas/<name>.schema.json` in the project, when it exists. */
export function paramSchemaFile(root: string, file: string): string | undefined {
  const schema = join(root, 'schemas', `${basename(file).replace(/\.[^.]*$/, '')}.schema.json`);
  return existsSync(schema) ? schema : undefined;
}

/** What changes when a file is edited, without reading it (as the stat cache does). */
function statSignature(file: string | undefined): string {
  if (file === undefined) return '-';
  try {
    const st = statSync(file, { bigint: true });
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return 'missing';
  }
}

const loaded = new Map<string, { signature: string; result: Result<ConfigFile> }>();

/** `file` (project-relative) parsed and checked; one read per change of the file or its schema. */
export function loadParamFile(root: string, file: string): Result<ConfigFile> {
  const abs = join(root, file);
  const schema = paramSchemaFile(root, file);
  const signature = `${statSignature(abs)}|${schema ?? ''}|${statSignature(schema)}`;
  const hit = loaded.get(abs);
  if (hit?.signature === signature) return hit.result;
  const result = loadConfig(abs, file, { schema });
  loaded.set(abs, { signature, result });
  return result;
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
