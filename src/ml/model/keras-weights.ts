/**
 * Loads Keras' pretrained EfficientNet weights (the `.h5` of `model.save_weights`, e.g.
 * efficientnetb0_notop.h5) into brickflow's tfjs backbone, matching every tensor to its
 * layer and weight by name and checking shapes before anything is written.
 *
 * Keras' layout: the root (or `model_weights/`) lists `layer_names`; each layer group
 * lists `weight_names` (`stem_conv/kernel:0`), and the tensor sits at
 * `<layer>/<weight_name>`. Kernels are [kh, kw, in, out] (depthwise: [kh, kw, c, 1]) in
 * both Keras and tfjs, so values are copied as they are.
 */
import * as tf from '@tensorflow/tfjs';
import * as h5 from 'h5wasm/node';

/** One tensor of the file, keyed `<layer>/<weight>` (`block1a_dwconv/depthwise_kernel`). */
export interface KerasTensor {
  layer: string;
  weight: string;
  shape: number[];
  values: Float32Array;
}

export interface KerasWeightsFile {
  /** Layer names in the file's order (weightless layers included). */
  layerNames: string[];
  tensors: Map<string, KerasTensor>;
}

/** What did not line up between the file and the model; each entry names layer/weight. */
export interface WeightMismatch {
  /** Backbone weights of the model that the file does not have. */
  missing: string[];
  /** File tensors with no home in the model. */
  leftOver: string[];
  /** `name: file [..] vs model [..]`. */
  misShaped: string[];
}

export type KerasImportResult =
  | { ok: true; tensors: number; params: number; layers: number; notes: string[] }
  | { ok: false; message: string; mismatch: WeightMismatch };

export interface LoadOptions {
  /** Prefix of the backbone's layer names in the model (option B's 'part_' / 'color_'). */
  prefix?: string;
}

/** Keras' names for the backbone's layers: stem, blocks and top (not the heads). */
const BACKBONE_LAYER = /^(stem_|block\d+[a-z]+_|top_)/;
/** Input normalisation in Keras' model; brickflow normalises before the model (contracts.md). */
const NORMALIZATION_LAYER = /^normalization(_\d+)?$/;
const IMAGENET_MEAN = [0.485, 0.456, 0.406];

let ready: Promise<unknown> | undefined;

/** Reads every float tensor of a Keras weights file. */
export async function readKerasWeightsFile(path: string): Promise<KerasWeightsFile> {
  ready ??= h5.ready;
  await ready;
  const file = new h5.File(path, 'r');
  try {
    const root = file.get('model_weights') instanceof h5.Group ? (file.get('model_weights') as h5.Group) : file;
    const layerNames = stringList(root.attrs['layer_names']?.value, `${path}: no layer_names attribute (not a Keras weights file)`);
    const tensors = new Map<string, KerasTensor>();
    for (const layer of layerNames) {
      const group = root.get(layer);
      if (!(group instanceof h5.Group)) throw new KerasFileError(`${path}: layer_names lists ${layer} but there is no group ${layer}`);
      for (const weightName of stringList(group.attrs['weight_names']?.value ?? [], `${path}: ${layer} has no weight_names`)) {
        const dataset = group.get(weightName);
        if (!(dataset instanceof h5.Dataset)) throw new KerasFileError(`${path}: ${layer} lists weight ${weightName} but has no dataset ${layer}/${weightName}`);
        const weight = weightName.split('/').pop()!.replace(/:\d+$/, '');
        tensors.set(`${layer}/${weight}`, { layer, weight, shape: dataset.shape ?? [], values: toFloat32(dataset.value, `${path}: ${layer}/${weightName}`) });
      }
    }
    return { layerNames, tensors };
  } finally {
    file.close();
  }
}

/** A malformed (not merely mismatched) weights file. */
export class KerasFileError extends Error {}

/**
 * Copies the file's weights into the model's backbone layers (names as Keras', after
 * `prefix`). Nothing is written unless every backbone weight has exactly one tensor of
 * the right shape and every file tensor has a home; otherwise the result lists them all.
 */
export async function loadKerasWeights(model: tf.LayersModel, path: string, options: LoadOptions = {}): Promise<KerasImportResult> {
  const prefix = options.prefix ?? '';
  let file: KerasWeightsFile;
  try {
    file = await readKerasWeightsFile(path);
  } catch (err) {
    if (err instanceof KerasFileError) return { ok: false, message: err.message, mismatch: { missing: [], leftOver: [], misShaped: [] } };
    throw err;
  }
  const notes: string[] = [];
  const unused = new Set(file.tensors.keys());
  for (const key of [...unused]) {
    const t = file.tensors.get(key)!;
    if (NORMALIZATION_LAYER.test(t.layer)) {
      unused.delete(key);
      if (t.weight === 'mean') notes.push(checkImagenetMean(t));
    }
  }

  const mismatch: WeightMismatch = { missing: [], leftOver: [], misShaped: [] };
  const plan: Array<{ layer: tf.layers.Layer; values: tf.Tensor[] }> = [];
  for (const layer of model.layers) {
    if (!layer.name.startsWith(prefix)) continue;
    const kerasName = layer.name.slice(prefix.length);
    if (!BACKBONE_LAYER.test(kerasName) || layer.weights.length === 0) continue;
    const values: Array<{ shape: number[]; data: Float32Array }> = [];
    for (const variable of layer.weights) {
      const weight = variable.originalName.split('/').pop()!.replace(/_\d+$/, '');
      const key = `${kerasName}/${weight}`;
      const t = file.tensors.get(key);
      if (!t) {
        mismatch.missing.push(`${key} ${shapeText(variable.shape)}`);
        continue;
      }
      unused.delete(key);
      if (!sameShape(t.shape, variable.shape)) {
        mismatch.misShaped.push(`${key}: file ${shapeText(t.shape)} vs model ${shapeText(variable.shape)}`);
        continue;
      }
      values.push({ shape: variable.shape as number[], data: t.values });
    }
    if (values.length === layer.weights.length) plan.push({ layer, values: values.map((v) => tf.tensor(v.data, v.shape, 'float32')) });
  }
  mismatch.leftOver = [...unused].map((key) => `${key} ${shapeText(file.tensors.get(key)!.shape)}`);

  const problems = mismatch.missing.length + mismatch.leftOver.length + mismatch.misShaped.length;
  if (problems > 0) {
    for (const p of plan) tf.dispose(p.values);
    return { ok: false, message: describeMismatch(path, prefix, mismatch), mismatch };
  }
  let params = 0;
  for (const { layer, values } of plan) {
    layer.setWeights(values);
    params += values.reduce((n, v) => n + v.size, 0);
    tf.dispose(values);
  }
  return { ok: true, tensors: plan.reduce((n, p) => n + p.values.length, 0), params, layers: plan.length, notes };
}

export function describeMismatch(path: string, prefix: string, m: WeightMismatch): string {
  const section = (title: string, items: string[]) =>
    items.length === 0 ? [] : [`  ${title} (${items.length}):`, ...items.slice(0, 40).map((i) => `    ${i}`), ...(items.length > 40 ? [`    ... and ${items.length - 40} more`] : [])];
  return [
    `${path} does not fit the model's backbone${prefix ? ` (layers prefixed '${prefix}')` : ''}; nothing was loaded:`,
    ...section('missing from the file', m.missing),
    ...section('left over in the file (no such layer/weight in the model)', m.leftOver),
    ...section('mis-shaped', m.misShaped),
  ].join('\n');
}

function checkImagenetMean(t: KerasTensor): string {
  const mean = Array.from(t.values).slice(-3);
  const off = mean.some((v, i) => Math.abs(v - IMAGENET_MEAN[i]!) > 1e-3);
  return off
    ? `warning: ${t.layer}/mean is [${mean.map((v) => v.toFixed(3)).join(', ')}], not ImageNet's; brickflow normalises inputs with ImageNet's mean/std`
    : `${t.layer} (ImageNet mean/std) is applied by brickflow's preprocessing, not loaded`;
}

function stringList(value: unknown, error: string): string[] {
  const decode = (v: unknown): string => (v instanceof Uint8Array ? new TextDecoder().decode(v) : String(v)).replace(/\0+$/, '');
  if (typeof value === 'string') return value === '' ? [] : [value];
  // An empty list is stored as a zero-length array whose type h5py/h5wasm may guess as numeric.
  if (ArrayBuffer.isView(value) && !(value instanceof Uint8Array) && (value as unknown as ArrayLike<unknown>).length === 0) return [];
  if (Array.isArray(value)) return value.map(decode).filter((s) => s !== '');
  if (value === undefined || value === null) throw new KerasFileError(error);
  return [decode(value)];
}

function toFloat32(value: unknown, where: string): Float32Array {
  if (value instanceof Float32Array) return value;
  if (value instanceof Float64Array) return Float32Array.from(value);
  if (typeof value === 'number') return Float32Array.of(value);
  throw new KerasFileError(`${where}: not a float tensor`);
}

function sameShape(a: readonly (number | null)[], b: readonly (number | null)[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function shapeText(shape: readonly (number | null)[]): string {
  return `[${shape.join(', ')}]`;
}
