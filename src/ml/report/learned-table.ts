/**
 * The report's "Learned or memorised?" table: per source, the train stage's train-fit
 * accuracy (artifacts/metrics/train.json `train_fit`) beside the test accuracy, with a verdict.
 */
import { existsSync, readFileSync } from 'node:fs';
import { learnedVerdict, type LearnedVerdict } from '../metrics/learned-verdict.ts';
import type { SourceFit } from '../train/train-fit.ts';

export interface LearnedRow {
  source: string;
  /** Training images in the train-fit sample. */
  n: number;
  fitPartTop1: number;
  fitColor: number | null;
  /** null: the test split holds no images of this source. */
  testPartTop1: number | null;
  testColor: number | null;
  verdict: LearnedVerdict;
}

export type LearnedTable = { ok: true; rows: LearnedRow[] } | { ok: false; reason: string };

/** The test figures of the one source the test split scores (split.evaluate_on). */
export interface TestedSource {
  source: string;
  partTop1: number | null;
  colorAcc: number | null;
}

export function learnedTable(trainFit: Record<string, SourceFit>, tested: TestedSource): LearnedRow[] {
  return Object.entries(trainFit)
    .sort(([a], [b]) => (a === tested.source ? -1 : b === tested.source ? 1 : a.localeCompare(b)))
    .map(([source, f]) => {
      const isTested = source === tested.source;
      const testPartTop1 = isTested ? tested.partTop1 : null;
      return {
        source, n: f.n, fitPartTop1: f.part_top1, fitColor: f.color_acc,
        testPartTop1, testColor: isTested ? tested.colorAcc : null,
        verdict: learnedVerdict(f.part_top1, testPartTop1),
      };
    });
}

/** Reads `train_fit` from the train stage's metrics file; says why when it is not there. */
export function readLearnedTable(file: string, tested: TestedSource): LearnedTable {
  if (!existsSync(file)) return { ok: false, reason: `${file} does not exist (the train stage writes it)` };
  let doc: { train_fit?: Record<string, SourceFit> | null };
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as typeof doc;
  } catch (err) {
    return { ok: false, reason: `${file} is not valid JSON: ${(err as Error).message}` };
  }
  if (!doc.train_fit || Object.keys(doc.train_fit).length === 0) {
    return { ok: false, reason: `${file} has no train_fit (the train stage measures it when artifacts/dataset is among its deps)` };
  }
  return { ok: true, rows: learnedTable(doc.train_fit, tested) };
}
