/**
 * Warm start (training.warm_start): when only data was added since the last model — same
 * config, same code, same labels, and every image it trained on still in the train split —
 * train continues from that model's weights for a few epochs instead of starting over.
 * A completed run keeps its model and what it was made from in `previous/` of the
 * persist out artifacts/train-state; the next run compares that with its own inputs.
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModel, saveModel } from '../model/model-io.ts';
import type { TrainLoopConfig } from './train-loop.ts';

/** When warm start applies: never, only in `pipeline watch` (BRICKFLOW_WARM_START=1), or always. */
export type WarmStartWhen = 'never' | 'watch' | 'always';

export interface WarmStartConfig { when: WarmStartWhen; epochs: number }

/** What a model was made from; a warm start needs the same config, code and labels, and more data. */
export interface ModelProvenance {
  /** Hash of the stage's params, training.warm_start left out (it says how, not what, to train). */
  config: string;
  /** PIPELINE_CODE_FINGERPRINT of the run that made the model. */
  code: string;
  /** Hash of the part and color lists (the heads' sizes and order). */
  labels: string;
  /** The train split's samples, `path` + part, sorted: the data the model has seen. */
  train: string[];
  /** weightsHash of the model. */
  model: string;
}

export interface PreviousModel { model: tf.LayersModel; provenance: ModelProvenance }

const PREVIOUS = 'previous';
const PROVENANCE = 'provenance.json';

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Hash of every weight's values in order: equal for equal weights, whatever the file. */
export function weightsHash(model: tf.LayersModel): string {
  const h = createHash('sha256');
  for (const w of model.getWeights()) {
    const data = w.dataSync();
    h.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return h.digest('hex');
}

/** The params with training.warm_start removed (base and profiles), hashed. */
export function configHash(params: Record<string, unknown>): string {
  const copy = structuredClone(params) as { training?: Record<string, unknown> & { profiles?: Record<string, Record<string, unknown>> } };
  if (copy.training) {
    delete copy.training['warm_start'];
    for (const p of Object.values(copy.training.profiles ?? {})) delete p['warm_start'];
  }
  return sha256(JSON.stringify(copy));
}

/** The train split's samples as `path part`, sorted, so the check does not depend on cache order. */
export function trainSamples(split: { path: string[]; partIndex: ArrayLike<number> }, parts: string[]): string[] {
  return split.path.map((p, i) => `${p} ${parts[split.partIndex[i]!] ?? '?'}`).sort();
}

/** Whether this run warm-starts when it can: config's `when`, BRICKFLOW_WARM_START (1 on, 0 off). */
export function warmStartWanted(cfg: WarmStartConfig, env: NodeJS.ProcessEnv = process.env): boolean {
  const flag = env['BRICKFLOW_WARM_START'];
  if (flag === '0') return false;
  return cfg.when === 'always' || (cfg.when === 'watch' && flag === '1');
}

/** Why the previous model cannot be continued from, or undefined when it can. */
export function warmStartBlocker(previous: ModelProvenance, now: Omit<ModelProvenance, 'model'>): string | undefined {
  if (previous.config !== now.config) return 'config/training.yaml changed since the last model';
  if (previous.code !== now.code) return 'the train code changed since the last model';
  if (previous.labels !== now.labels) return 'the part or color list changed since the last model';
  const current = new Set(now.train);
  const gone = previous.train.filter((s) => !current.has(s)).length;
  if (gone > 0) return `${gone} image(s) the last model trained on are no longer in the train split (or changed part)`;
  return undefined;
}

/** Keep the finished model and what it was made from, for the next run's warm start. */
export async function keepAsPrevious(stateDir: string, model: tf.LayersModel, provenance: Omit<ModelProvenance, 'model'>): Promise<ModelProvenance> {
  const full = { ...provenance, model: weightsHash(model) };
  const dir = join(stateDir, PREVIOUS);
  await saveModel(model, dir);
  await writeFile(join(dir, PROVENANCE), JSON.stringify(full));
  return full;
}

/** The model a completed run kept, or undefined when there is none (or it is incomplete). */
export async function readPrevious(stateDir: string): Promise<PreviousModel | undefined> {
  const dir = join(stateDir, PREVIOUS);
  if (!existsSync(join(dir, PROVENANCE)) || !existsSync(join(dir, 'model.json'))) return undefined;
  const provenance = JSON.parse(await readFile(join(dir, PROVENANCE), 'utf8')) as ModelProvenance;
  return { model: await loadModel(dir), provenance };
}

/**
 * The loop's config for continuing: `epochs` epochs, no learning-rate warm-up (the weights
 * are trained already), and the curriculum's final mix throughout (its early, render-heavy
 * phases are for a net that starts from nothing).
 */
export function warmLoopConfig(loop: TrainLoopConfig, epochs: number): TrainLoopConfig {
  const last = loop.curriculum.phases[loop.curriculum.phases.length - 1];
  const phases = last ? [{ fromEpoch: 0, toEpoch: loop.curriculum.planEpochs, mix: last.mix }] : [];
  return { ...loop, epochs, warmupEpochs: 0, curriculum: { ...loop.curriculum, phases } };
}
