// The one JSON Schema validator of the project: every config file (pipeline.yaml, the
// params files, a stage's settings) is checked by a schema compiled here, with the schema's
// defaults filled in and every error collected.
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type SchemaValidateFunction, type ValidateFunction } from 'ajv';

/**
 * `x-ignored: "why"` on a property marks a key that does nothing under the options chosen
 * elsewhere (put it under an `if`/`then`); a value set there is reported as a warning.
 */
export const IGNORED_KEYWORD = 'x-ignored';

/**
 * `x-names-item: {list, key, where?, hint?}` on a string: a reference to another part of the
 * same file, checked with it (so `run` catches it up front): the value must be the `key` of
 * an item of the array at JSON pointer `list` whose fields equal `where`. A file (or a
 * stage's share of one) without that array is not checked: there is nothing to look in.
 */
export const NAMES_ITEM_KEYWORD = 'x-names-item';

interface NamesItem { list: string; key: string; where?: Record<string, unknown>; hint?: string }

/** A key that is set but does nothing, found while validating. */
export interface IgnoredKey {
  /** JSON pointer of the key, e.g. `/model/part_grayscale`. */
  instancePath: string;
  reason: string;
}

export interface SchemaCheck {
  ok: boolean;
  errors: ErrorObject[];
  ignored: IgnoredKey[];
}

let ignoredSink: IgnoredKey[] = [];

// verbose: errors carry the offending value, for messages that quote it.
const ajv = new Ajv({ allErrors: true, useDefaults: true, allowUnionTypes: true, strict: false, verbose: true });
ajv.addKeyword({
  keyword: IGNORED_KEYWORD,
  schemaType: 'string',
  errors: false,
  validate: (reason: string, _data: unknown, _parent: unknown, cxt?: { instancePath: string }) => {
    ignoredSink.push({ instancePath: cxt?.instancePath ?? '', reason });
    return true;
  },
});

const namesItem: SchemaValidateFunction = (ref: NamesItem, value: unknown, _parent?: unknown, cxt?: { rootData: unknown }): boolean => {
  namesItem.errors = [];
  let list: unknown = cxt?.rootData;
  for (const segment of pointerSegments(ref.list)) list = list !== null && typeof list === 'object' ? (list as Record<string, unknown>)[segment] : undefined;
  if (!Array.isArray(list) || typeof value !== 'string') return true;
  const where = Object.entries(ref.where ?? {});
  const candidates = list.filter((item): item is Record<string, unknown> => item !== null && typeof item === 'object' && where.every(([k, v]) => (item as Record<string, unknown>)[k] === v));
  if (candidates.some((item) => item[ref.key] === value)) return true;
  const kind = `${pointerSegments(ref.list).join('.')} item${where.length > 0 ? ` with ${where.map(([k, v]) => `${k}: ${String(v)}`).join(', ')}` : ''}`;
  const names = candidates.map((item) => JSON.stringify(item[ref.key])).join(', ');
  namesItem.errors = [{
    keyword: NAMES_ITEM_KEYWORD, params: { list: ref.list, key: ref.key },
    message: `"${value}" is not the ${ref.key} of a ${kind} (${names ? `those: ${names}` : 'there is none'})${ref.hint ? `; ${ref.hint}` : ''}`,
  }];
  return false;
};
ajv.addKeyword({ keyword: NAMES_ITEM_KEYWORD, schemaType: 'object', errors: true, validate: namesItem });

/** Compiled schemas by file (compiling costs ~100 ms, so once per process). */
const compiled = new Map<string, ValidateFunction>();

/** The validator of the schema in `schemaFile` (absolute path). */
export function schemaValidator(schemaFile: string): ValidateFunction {
  let validate = compiled.get(schemaFile);
  if (!validate) {
    const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as Record<string, unknown>;
    // Keyed by file, not $id: a project's copy of a schema may share the original's $id.
    delete schema['$id'];
    validate = ajv.compile(schema);
    compiled.set(schemaFile, validate);
  }
  return validate;
}

/** Checks `value` in place (defaults are written into it) against the schema in `schemaFile`. */
export function checkAgainstSchema(value: unknown, schemaFile: string): SchemaCheck {
  const validate = schemaValidator(schemaFile);
  ignoredSink = [];
  const ok = validate(value);
  const ignored = ignoredSink;
  ignoredSink = [];
  return { ok, errors: ok ? [] : [...(validate.errors ?? [])], ignored };
}

/** `model.input_size` for the pointer `/model/input_size`; `(top level)` for the root. */
export function dottedPath(instancePath: string): string {
  return pointerSegments(instancePath).join('.') || '(top level)';
}

export function pointerSegments(instancePath: string): string[] {
  return instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** One line saying what is wrong, with the detail Ajv keeps in `params`. */
export function describeSchemaError(e: ErrorObject): string {
  const where = dottedPath(e.instancePath);
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') return `unknown key "${String(params['additionalProperty'])}" in ${where}`;
  if (e.keyword === 'required') return `${where}: missing key "${String(params['missingProperty'])}"`;
  if (e.keyword === 'enum') return `${where}: must be one of ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  if (e.keyword === 'type' && Array.isArray(params['type'])) return `${where}: must be ${(params['type'] as string[]).join(' or ')}`;
  return `${where}: ${e.message ?? e.keyword}`;
}
