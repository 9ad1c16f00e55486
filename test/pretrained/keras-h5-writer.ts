// Writes a weights file in Keras' save_weights layout (layer_names / weight_names, tensors at
// <layer>/<layer>/<weight>:0) with h5wasm, with random values shaped like a model's backbone.
import * as tf from '@tensorflow/tfjs';
import * as h5 from 'h5wasm/node';

export interface WrittenTensor {
  shape: number[];
  values: Float32Array;
}

export interface WriteOptions {
  /** Keys `<layer>/<weight>` to leave out of the file. */
  drop?: string[];
  /** Extra tensors to add: key -> shape. */
  extra?: Record<string, number[]>;
  /** Keys whose shape is replaced. */
  reshape?: Record<string, number[]>;
  seed?: number;
}

const BACKBONE = /^(stem_|block\d+[a-z]+_|top_)/;

/**
 * Random values at the scale trained weights have (kernels ~ 1/sqrt(fan in), BatchNorm near
 * identity, variances positive), so activations stay O(1) through all 16 blocks.
 */
function plausible(weight: string, shape: number[], n: number, rand: () => number): Float32Array {
  const fanIn = weight === 'depthwise_kernel' ? shape[0]! * shape[1]! : shape.slice(0, -1).reduce((a, b) => a * b, 1);
  switch (weight) {
    case 'kernel':
    case 'depthwise_kernel':
      return Float32Array.from({ length: n }, () => rand() * Math.sqrt(3 / fanIn));
    case 'gamma':
      return Float32Array.from({ length: n }, () => 1 + 0.1 * rand());
    case 'moving_variance':
      return Float32Array.from({ length: n }, () => 1 + 0.5 * Math.abs(rand()));
    default: // beta, bias, moving_mean
      return Float32Array.from({ length: n }, () => 0.1 * rand());
  }
}

/**
 * Keras stores name lists via h5py as numpy byte strings: fixed-length `S<n>` arrays, and an
 * empty list as an empty float64 array (np.asarray([])). Written the same way here.
 */
function fixedStrings(target: h5.Group, name: string, values: string[]): void {
  if (values.length === 0) {
    target.create_attribute(name, new Float64Array(0), [0], '<d');
    return;
  }
  const width = Math.max(...values.map((v) => Buffer.byteLength(v)));
  target.create_attribute(name, values, [values.length], `S${width}`);
}

/** Writes `path` from the model's backbone layers; returns what was written, by key. */
export async function writeKerasWeights(model: tf.LayersModel, path: string, options: WriteOptions = {}): Promise<Map<string, WrittenTensor>> {
  await h5.ready;
  let s = (options.seed ?? 1) * 48271;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const written = new Map<string, WrittenTensor>();
  const layers: Array<{ name: string; weights: Array<{ weight: string; shape: number[] }> }> = [
    { name: 'input_1', weights: [] },
    { name: 'rescaling', weights: [] },
    { name: 'normalization', weights: [{ weight: 'mean', shape: [3] }, { weight: 'variance', shape: [3] }, { weight: 'count', shape: [] }] },
    { name: 'rescaling_1', weights: [] },
  ];
  for (const layer of model.layers) {
    if (!BACKBONE.test(layer.name)) continue;
    layers.push({ name: layer.name, weights: layer.weights.map((w) => ({ weight: w.originalName.split('/').pop()!, shape: w.shape as number[] })) });
  }
  for (const [key, shape] of Object.entries(options.extra ?? {})) {
    const [name, weight] = key.split('/') as [string, string];
    const existing = layers.find((l) => l.name === name);
    if (existing) existing.weights.push({ weight, shape });
    else layers.push({ name, weights: [{ weight, shape }] });
  }

  const file = new h5.File(path, 'w');
  try {
    fixedStrings(file, 'layer_names', layers.map((l) => l.name));
    file.create_attribute('backend', 'tensorflow');
    file.create_attribute('keras_version', '2.13.1');
    for (const layer of layers) {
      const group = file.create_group(layer.name);
      const kept = layer.weights.filter((w) => !(options.drop ?? []).includes(`${layer.name}/${w.weight}`));
      fixedStrings(group, 'weight_names', kept.map((w) => `${layer.name}/${w.weight}:0`));
      if (kept.length === 0) continue;
      const inner = group.create_group(layer.name);
      for (const w of kept) {
        const key = `${layer.name}/${w.weight}`;
        const shape = options.reshape?.[key] ?? w.shape;
        const n = shape.reduce((a, b) => a * b, 1);
        const values = layer.name === 'normalization'
          ? w.weight === 'mean' ? Float32Array.of(0.485, 0.456, 0.406) : w.weight === 'variance' ? Float32Array.of(0.229, 0.224, 0.225) : Float32Array.of(0)
          : plausible(w.weight, shape, n, rand);
        inner.create_dataset({ name: `${w.weight}:0`, data: values, shape, dtype: '<f' });
        written.set(key, { shape, values });
      }
    }
  } finally {
    file.close();
  }
  return written;
}
