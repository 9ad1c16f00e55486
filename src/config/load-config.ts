// Reads a config file (YAML or JSON) once, keeping where every value is written, checks it
// against its JSON Schema with the schema's defaults filled in, and reports each problem as
// a diagnostic at file:line:column. Used for pipeline.yaml and for every params file.
import { readFileSync } from 'node:fs';
import type { ErrorObject } from 'ajv';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { Diagnostic, Location, Result } from '../engine/diagnostic.ts';
import { checkAgainstSchema, describeSchemaError, pointerSegments } from './schema.ts';

export type KeyPath = readonly (string | number)[];

/** A parsed, checked config file. */
export interface ConfigFile {
  /** How the file is named in messages (project-relative). */
  name: string;
  source: string;
  /** The parsed values, with the schema's defaults filled in. */
  data: unknown;
  /** Problems that do not stop a run: keys set where they do nothing. */
  warnings: Diagnostic[];
  /** Where the value at `path` is written, or its nearest written parent. */
  locate(path: KeyPath): Location;
  /** Where the key at `path` is written (the key's text, not its value). */
  locateKey(path: KeyPath): Location;
  /** The parsed document, for callers that walk nodes (pipeline-config). */
  doc: Document;
}

export interface LoadOptions {
  /** Absolute path of the JSON Schema; without it the file is only parsed. */
  schema?: string;
  /** A message of the caller's own for some schema errors (undefined: the generic one). */
  describe?: (error: ErrorObject, path: string[]) => string | undefined;
}

/** Reads `absFile` and checks it; `name` is how messages call it. */
export function loadConfig(absFile: string, name: string, opts: LoadOptions = {}): Result<ConfigFile> {
  let source: string;
  try {
    source = readFileSync(absFile, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, error: [{ message: code === 'ENOENT' ? `${name} does not exist` : `cannot read ${name}: ${(err as Error).message}` }] };
  }
  return parseConfig(source, name, opts);
}

/** Parses and checks config text; `name` is how messages call the file. */
export function parseConfig(source: string, name: string, opts: LoadOptions = {}): Result<ConfigFile> {
  const at = (start: number, end: number): Location => ({ file: name, source, start, end });
  const nodeLoc = (node: unknown): Location => {
    const range = (node as YamlNode | undefined)?.range;
    return range ? at(range[0], range[1]) : at(0, 0);
  };
  const doc = parseDocument(source, { lineCounter: new LineCounter(), uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      error: doc.errors.map((e) => ({ message: `YAML syntax: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`, location: at(e.pos[0], e.pos[1]) })),
    };
  }
  const duplicates = duplicateKeys(doc, nodeLoc);
  if (duplicates.length > 0) return { ok: false, error: duplicates };

  const locate = (path: KeyPath): Location => {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
      if ((node as YamlNode | undefined)?.range) return nodeLoc(node);
    }
    return at(0, 0);
  };
  const locateKey = (path: KeyPath): Location => {
    const parent = path.length === 0 ? undefined : path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
    if (isMap(parent)) {
      const last = String(path[path.length - 1]);
      const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === last);
      if (pair) return nodeLoc(pair.key);
    }
    return locate(path);
  };

  const data: unknown = doc.toJS() ?? {};
  const warnings: Diagnostic[] = [];
  if (opts.schema) {
    const check = checkAgainstSchema(data, opts.schema);
    if (!check.ok) return { ok: false, error: schemaDiagnostics(check.errors, locate, locateKey, opts.describe) };
    for (const i of check.ignored) {
      const path = pointerSegments(i.instancePath);
      warnings.push({ severity: 'warning', message: `${path.join('.')} is set but ignored: ${i.reason}`, location: locateKey(path) });
    }
  }
  return { ok: true, value: { name, source, data, warnings, locate, locateKey, doc } };
}

/** One diagnostic per place (oneOf branches repeat a complaint in several shapes; the specific ones win). */
function schemaDiagnostics(
  errors: ErrorObject[],
  locate: (p: KeyPath) => Location,
  locateKey: (p: KeyPath) => Location,
  describe: LoadOptions['describe'],
): Diagnostic[] {
  const rank = (e: ErrorObject): number => (e.keyword === 'additionalProperties' ? 0 : e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'if' ? 2 : 1);
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const err of [...errors].sort((a, b) => rank(a) - rank(b))) {
    const path = pointerSegments(err.instancePath);
    let location = locate(path);
    if (err.keyword === 'additionalProperties') location = locateKey([...path, (err.params as { additionalProperty: string }).additionalProperty]);
    // A map missing something (or matching none of its shapes) is shown at its key; a bad key name at that key.
    else if (err.keyword === 'required' || err.keyword === 'oneOf' || err.keyword === 'anyOf') location = locateKey(path);
    else if (err.propertyName !== undefined) location = locateKey([...path, err.propertyName]);
    const message = describe?.(err, path) ?? describeSchemaError(err);
    // Several missing or unknown keys of one map are each worth saying; other errors once per place.
    const key = `${location.start}:${location.end}${err.keyword === 'required' || err.keyword === 'additionalProperties' ? message : ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ message, location });
  }
  return out;
}

/** A key written twice in one map; both places are shown. */
function duplicateKeys(doc: Document, nodeLoc: (n: unknown) => Location): Diagnostic[] {
  const errors: Diagnostic[] = [];
  const visit = (node: unknown): void => {
    if (isMap(node)) {
      const seen = new Map<string, unknown>();
      for (const pair of node.items) {
        const name = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (name !== undefined) {
          const first = seen.get(name);
          if (first) {
            errors.push({
              message: `"${name}" is defined twice`,
              location: nodeLoc(pair.key),
              supplemental: [{ message: `first definition of "${name}"`, location: nodeLoc(first) }],
            });
          } else {
            seen.set(name, pair.key);
          }
        }
        visit(pair.value);
      }
    } else if (isSeq(node)) {
      node.items.forEach(visit);
    }
  };
  visit(doc.contents);
  return errors;
}
