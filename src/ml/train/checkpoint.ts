/**
 * Training checkpoints in the persist out `artifacts/train-state`: after each finished
 * epoch, the model, the optimizer moments and the loop state go into `epoch-NNNN/`,
 * written under a temporary name and renamed into place, so an interrupted run (Ctrl-C,
 * kill) always finds the last complete epoch. `best/` holds the best model so far.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModel, saveModel } from '../model/model-io.ts';
import type { AdamW } from './adamw.ts';
import type { EpochRecord } from './history.ts';

/** What the loop needs to continue where it stopped. */
export interface LoopState {
  /**
   * The engine's input fingerprint (PIPELINE_STAGE_FINGERPRINT: definition, deps, params,
   * code) this state was made for; a mismatch means start over.
   */
  fingerprint: string;
  epochsDone: number;
  stepsDone: number;
  optimizerStep: number;
  bestEpoch: number;          // 0 = none yet
  bestScore: number;          // val part top-1 of the best epoch
  epochsWithoutImprovement: number;
  history: EpochRecord[];
}

export interface Checkpoint {
  dir: string;
  state: LoopState;
  model: tf.LayersModel;
  optimizer: tf.NamedTensorMap;
}

const EPOCH_DIR = /^epoch-(\d{4,})$/;

export async function writeCheckpoint(stateDir: string, model: tf.LayersModel, optimizer: AdamW, state: LoopState): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  const name = `epoch-${String(state.epochsDone).padStart(4, '0')}`;
  const tmp = join(stateDir, `.${name}.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  await saveModel(model, join(tmp, 'model'));
  const { data, specs } = await tf.io.encodeWeights(optimizer.state());
  await writeFile(join(tmp, 'optimizer.bin'), new Uint8Array(tf.io.CompositeArrayBuffer.join(data)));
  await writeFile(join(tmp, 'optimizer.json'), JSON.stringify(specs));
  await writeFile(join(tmp, 'state.json'), JSON.stringify(state, null, 1));
  await rm(join(stateDir, name), { recursive: true, force: true });
  await rename(tmp, join(stateDir, name));
  // Older epochs are no longer needed once the new one is complete.
  // Leftovers of a run killed mid-write (temporary dirs) go too.
  for (const entry of await readdir(stateDir)) {
    const stale = (EPOCH_DIR.test(entry) && entry !== name) || /\.tmp-\d+$/.test(entry);
    if (stale) await rm(join(stateDir, entry), { recursive: true, force: true });
  }
}

/** The newest complete checkpoint, or undefined when there is none. */
export async function readLatestCheckpoint(stateDir: string): Promise<Checkpoint | undefined> {
  if (!existsSync(stateDir)) return undefined;
  const epochs = (await readdir(stateDir)).filter((e) => EPOCH_DIR.test(e)).sort().reverse();
  for (const entry of epochs) {
    const dir = join(stateDir, entry);
    if (!existsSync(join(dir, 'state.json'))) continue;
    const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as LoopState;
    const specs = JSON.parse(await readFile(join(dir, 'optimizer.json'), 'utf8')) as tf.io.WeightsManifestEntry[];
    const bin = await readFile(join(dir, 'optimizer.bin'));
    const optimizer = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), specs);
    return { dir, state, model: await loadModel(join(dir, 'model')), optimizer };
  }
  return undefined;
}

/**
 * Drops every checkpoint (epochs, best model, leftovers of a killed write) and keeps the
 * empty folder, which is the stage's declared out: for a run that starts from scratch
 * (`--force`) and after a completed run, whose model is in artifacts/model.
 */
export async function dropCheckpoints(stateDir: string): Promise<void> {
  await rm(stateDir, { recursive: true, force: true });
  await mkdir(stateDir, { recursive: true });
}

export const bestModelDir = (stateDir: string): string => join(stateDir, 'best');

/** Copy every weight of `from` into `into` (same architecture), by position. */
export function copyWeights(from: tf.LayersModel, into: tf.LayersModel): void {
  into.setWeights(from.getWeights());
}
