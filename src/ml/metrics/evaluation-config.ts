// config/evaluate.yaml's `evaluate` section: checked against schemas/evaluate.schema.json,
// which also supplies every default, and turned into the evaluator's options.
import { fileURLToPath } from 'node:url';
import { checkValues, type ConfigRef } from '../../config/check-values.ts';
import type { EvaluationOptions } from './evaluate-classifier.ts';

const SCHEMA = fileURLToPath(new URL('../../../schemas/evaluate.schema.json', import.meta.url));

interface RawEvaluate {
  top_k: number;
  bootstrap_resamples: number;
  confidence: number;
  seed: number;
  confused_pairs: number;
  worst_examples: number;
  worst_part_min_test_images: number;
}

export type EvaluationConfigResult = { ok: true; options: EvaluationOptions } | { ok: false; errors: string[] };

/** The raw `evaluate` value (absent: every default) as the evaluator's options. */
export function parseEvaluationOptions(raw: unknown, ref: ConfigRef): EvaluationConfigResult {
  const value = { evaluate: structuredClone(raw ?? {}) as unknown };
  const errors = checkValues(value, SCHEMA, ref);
  if (errors.length > 0) return { ok: false, errors };
  const e = value.evaluate as RawEvaluate;
  return {
    ok: true,
    options: { topK: e.top_k, resamples: e.bootstrap_resamples, confidence: e.confidence, seed: e.seed, pairLimit: e.confused_pairs, worstLimit: e.worst_examples, worstPartMinTestImages: e.worst_part_min_test_images },
  };
}
