// Checks settings a stage was handed (the listed params keys, already parsed by the engine)
// against their schema with the same validator as the engine, defaults filled in place, and
// words each problem as `file:line:col: key: what`, the place found in the file when it is
// readable. Shared by the settings readers of src/ml.
import type { ErrorObject } from 'ajv';
import { placeText } from '../engine/diagnostic.ts';
import { loadConfig, type KeyPath } from './load-config.ts';
import { checkAgainstSchema, describeSchemaError, pointerSegments } from './schema.ts';

/** A config file as messages name it, and where to find it for line and column. */
export interface ConfigRef {
  /** Project-relative name used in messages. */
  name: string;
  /** Absolute path, to point at the line; without it messages name just the file. */
  abs?: string;
}

/**
 * `name:line:col` of the value at `path` (with `key`, of the key's own text), or of its
 * nearest written parent; just `name` when the file cannot be read.
 */
export function placeIn(ref: ConfigRef, path: KeyPath, key = false): string {
  if (!ref.abs) return ref.name;
  const loaded = loadConfig(ref.abs, ref.name);
  if (!loaded.ok) return ref.name;
  return placeText(key ? loaded.value.locateKey(path) : loaded.value.locate(path));
}

/** Problems with `value` (defaults are written into it), one line each; empty when it is valid. */
export function checkValues(value: unknown, schemaFile: string, ref: ConfigRef, describe?: (e: ErrorObject, path: string[]) => string | undefined): string[] {
  const check = checkAgainstSchema(value, schemaFile);
  const lines = check.errors.map((e) => {
    const path = pointerSegments(e.instancePath);
    const unknownKey = e.keyword === 'additionalProperties';
    const keyPath = unknownKey ? [...path, String((e.params as { additionalProperty: string }).additionalProperty)] : path;
    return `${placeIn(ref, keyPath, unknownKey)}: ${describe?.(e, path) ?? describeSchemaError(e)}`;
  });
  return [...new Set(lines)];
}
