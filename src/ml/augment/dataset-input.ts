// Reads the filter stage's output (artifacts/dataset: manifest.jsonl + labels.json, see
// docs/contracts.md) into the records the augment cache is built from.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ManifestEntry } from '../dataset/build-dataset.ts';
import { SPLITS } from '../dataset/split.ts';

// labels.json's type comes from the filter that writes it (head order: the index in its arrays is the class index).
import type { Labels } from '../dataset/labels.ts';
export type { Labels } from '../dataset/labels.ts';

// The manifest's types come from the filter stage that writes it, so reader and writer
// cannot drift apart.
export type { ManifestEntry } from '../dataset/build-dataset.ts';
export { SPLITS, type Split } from '../dataset/split.ts';

export interface DatasetInput { labels: Labels; entries: ManifestEntry[] }

/** Thrown for a malformed dataset folder; the message names the file and line. */
export class DatasetFormatError extends Error {}

export function readDatasetInput(datasetDir: string): DatasetInput {
  const labelsFile = join(datasetDir, 'labels.json');
  const manifestFile = join(datasetDir, 'manifest.jsonl');
  const labels = JSON.parse(readFile(labelsFile)) as Labels;
  if (!Array.isArray(labels.parts) || !Array.isArray(labels.colors)) {
    throw new DatasetFormatError(`${labelsFile}: expected {"parts": [...], "colors": [...]}`);
  }
  const entries: ManifestEntry[] = [];
  readFile(manifestFile).split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let e: ManifestEntry;
    try {
      e = JSON.parse(line) as ManifestEntry;
    } catch (err) {
      throw new DatasetFormatError(`${manifestFile}:${i + 1}: not JSON (${(err as Error).message})`);
    }
    const missing = (['path', 'sha256', 'source', 'part_id', 'color_id', 'split'] as const).filter((k) => e[k] === undefined);
    if (missing.length) throw new DatasetFormatError(`${manifestFile}:${i + 1}: missing ${missing.join(', ')}`);
    if (!SPLITS.includes(e.split)) throw new DatasetFormatError(`${manifestFile}:${i + 1}: split "${e.split}" is not train, val or test`);
    entries.push({ ...e, part_id: String(e.part_id) });
  });
  return { labels, entries };
}

function readFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new DatasetFormatError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** Class indices of an entry: part index (-1 when not a head class) and color index (-1 = unknown). */
export function classIndexer(labels: Labels): (e: ManifestEntry) => { part: number; color: number } {
  const parts = new Map(labels.parts.map((p, i) => [p, i]));
  const colors = new Map(labels.colors.map((c, i) => [c.id, i]));
  return (e) => ({ part: parts.get(e.part_id) ?? -1, color: colors.get(e.color_id) ?? -1 });
}
