// Whether a JSON Schema lets an object hold a key at a dotted path, so a key a pipeline
// names can be told apart from a typo even when the file leaves it out.
import { readFileSync } from 'node:fs';

type Schema = Record<string, unknown>;

/** Local `$ref`s (`#/definitions/x`) resolved against `root`. */
function deref(schema: unknown, root: Schema): Schema[] {
  if (schema === null || typeof schema !== 'object') return [];
  const s = schema as Schema;
  const out: Schema[] = [s];
  if (typeof s['$ref'] === 'string' && s['$ref'].startsWith('#/')) {
    const target = s['$ref'].slice(2).split('/').reduce<unknown>((cur, part) => (cur as Schema | undefined)?.[part], root);
    out.push(...deref(target, root));
  }
  for (const key of ['allOf', 'anyOf', 'oneOf']) for (const sub of (s[key] as unknown[] | undefined) ?? []) out.push(...deref(sub, root));
  for (const key of ['then', 'else']) out.push(...deref(s[key], root));
  return out;
}

/** The sub-schemas that may describe the value under `key` of an object described by `schema`. */
function child(schema: unknown, key: string, root: Schema): Schema[] {
  const out: Schema[] = [];
  for (const s of deref(schema, root)) {
    const props = s['properties'] as Schema | undefined;
    if (props && key in props) out.push(...deref(props[key], root));
    else if (s['additionalProperties'] !== undefined && s['additionalProperties'] !== false) out.push(...deref(s['additionalProperties'], root));
  }
  return out;
}

/** True when the schema in `schemaFile` allows the dotted `path` (e.g. `model.input_size`). */
export function schemaAllowsPath(schemaFile: string, path: string): boolean {
  const root = JSON.parse(readFileSync(schemaFile, 'utf8')) as Schema;
  let level: Schema[] = [root];
  for (const part of path.split('.')) {
    level = level.flatMap((s) => child(s, part, root));
    if (level.length === 0) return false;
  }
  return true;
}
