// The checks `run` makes before the first stage starts, so a bad config stops the run at
// once (exit 2) with file:line:col instead of failing a stage minutes in: every params file
// of the stages about to run parses and matches its schema, every key pipeline.yaml lists
// exists, and every dep that no stage makes is on disk. Warnings (keys set where they do
// nothing) are returned apart; they do not stop the run.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { schemaAllowsPath } from '../config/schema-paths.ts';
import type { Diagnostic } from './diagnostic.ts';
import { loadParamFile, paramSchemaFile, valueAt } from './params.ts';
import { pathsOverlap, writtenPaths, type Pipeline, type StageDecl } from './pipeline-config.ts';

export interface Preflight {
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

export function preflight(pipeline: Pipeline, stages: readonly StageDecl[]): Preflight {
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const seenFiles = new Set<string>();
  for (const stage of stages) {
    for (const decl of stage.params) {
      const loaded = loadParamFile(pipeline.root, decl.file);
      if (!loaded.ok) {
        if (!existsSync(join(pipeline.root, decl.file))) {
          errors.push({ message: `param file "${decl.file}" of stage "${stage.name}" does not exist`, location: decl.location });
        } else if (!seenFiles.has(decl.file)) {
          errors.push(...loaded.error);
        }
        seenFiles.add(decl.file);
        continue;
      }
      if (!seenFiles.has(decl.file)) warnings.push(...loaded.value.warnings);
      seenFiles.add(decl.file);
      const schema = paramSchemaFile(pipeline.root, decl.file);
      decl.keys.forEach((key, i) => {
        if (valueAt(loaded.value.data, key) !== undefined) return;
        if (schema && schemaAllowsPath(schema, key)) return;
        errors.push({ message: `${decl.file} has no key "${key}"${keysHint(loaded.value.data, key)}`, location: decl.keyLocations[i] ?? decl.location });
      });
    }
  }
  errors.push(...missingSourceDeps(pipeline, stages));
  return { errors, warnings };
}

/** `(model has: architecture, input_size, …)`: the keys beside the one that is not there. */
function keysHint(data: unknown, key: string): string {
  const parts = key.split('.');
  for (let n = parts.length - 1; n >= 0; n--) {
    const parent = n === 0 ? data : valueAt(data, parts.slice(0, n).join('.'));
    if (parent !== null && typeof parent === 'object' && !Array.isArray(parent)) {
      const keys = Object.keys(parent);
      return keys.length > 0 ? ` (${n === 0 ? 'the file' : parts.slice(0, n).join('.')} has: ${keys.join(', ')})` : '';
    }
  }
  return '';
}

/** Deps no stage of the pipeline writes, missing on disk: nothing this run does can make them. */
function missingSourceDeps(pipeline: Pipeline, stages: readonly StageDecl[]): Diagnostic[] {
  const written = pipeline.stages.flatMap(writtenPaths);
  const errors: Diagnostic[] = [];
  for (const stage of stages) {
    for (const dep of stage.deps) {
      if (written.some((w) => pathsOverlap(w.path, dep.path))) continue;
      if (!existsSync(join(pipeline.root, dep.path))) {
        errors.push({ message: `dep "${dep.path}" of stage "${stage.name}" does not exist, and no stage makes it`, location: dep.location });
      }
    }
  }
  return errors;
}
