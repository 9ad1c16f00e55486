/**
 * The `model.pretrained` hook: resolve the weights file (a path or `imagenet`) and load it
 * into each backbone with the Keras importer (src/ml/model/keras-weights.ts); without one,
 * say that training starts from scratch.
 */
import type * as tf from '@tensorflow/tfjs';
import { loadKerasWeights } from '../model/keras-weights.ts';
import { resolvePretrainedWeights } from '../model/keras-weights-cache.ts';

export type PretrainedResult = { ok: true; message: string; sha256?: string } | { ok: false; message: string };

/** Load `spec` into the backbones named by `prefixes` ('' for option A; 'part_', 'color_' for B). */
export async function loadPretrained(model: tf.LayersModel, prefixes: string[], spec: string | null, root: string): Promise<PretrainedResult> {
  if (spec == null) return { ok: true, message: 'no pretrained weights: training from scratch' };
  const resolved = await resolvePretrainedWeights(spec, { root });
  if (!resolved.ok) return { ok: false, message: resolved.message };
  const notes: string[] = [];
  for (const prefix of prefixes) {
    const result = await loadKerasWeights(model, resolved.value.path, { prefix });
    if (!result.ok) return { ok: false, message: result.message };
    notes.push(`${result.tensors} tensors${prefix ? ` into '${prefix}'` : ''}`);
  }
  return { ok: true, message: `pretrained weights from ${resolved.value.path} (${resolved.value.via}): ${notes.join(', ')}`, sha256: resolved.value.sha256 };
}
