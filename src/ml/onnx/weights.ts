// Reads a tfjs layer's weights by role (kernel, bias, gamma, ...) and re-lays them out for ONNX.
import type * as tf from '@tensorflow/tfjs';

export interface LayerWeights {
  /** Weight values keyed by role ('kernel', 'bias', 'gamma', 'moving_mean', ...). */
  byRole: Map<string, { shape: number[]; values: Float32Array }>;
}

/** Role of a weight from its Keras-style name, e.g. 'block1a_dwconv/depthwise_kernel' -> 'depthwise_kernel'. */
function roleOf(name: string): string {
  const last = name.split('/').pop() ?? name;
  return last.replace(/(_\d+)+$/, '').replace(/:\d+$/, '');
}

export function readLayerWeights(layer: tf.layers.Layer): LayerWeights {
  const values = layer.getWeights();
  const byRole = new Map<string, { shape: number[]; values: Float32Array }>();
  layer.weights.forEach((w, i) => {
    byRole.set(roleOf(w.originalName), { shape: values[i].shape, values: values[i].dataSync() as Float32Array });
  });
  return { byRole };
}

/** Keras Conv2D kernel [kh, kw, in, out] -> ONNX Conv weight [out, in, kh, kw]. */
export function convKernelToOihw(kernel: Float32Array, [kh, kw, cin, cout]: number[]): Float32Array {
  const out = new Float32Array(kernel.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + y) * kw + x] = kernel[((y * kw + x) * cin + i) * cout + o];
  return out;
}

/**
 * Keras depthwise kernel [kh, kw, in, mult] -> ONNX grouped Conv weight [in*mult, 1, kh, kw].
 * Output channel c*mult+m in tfjs is group c's m-th output in ONNX, so the order carries over.
 */
export function depthwiseKernelToOihw(kernel: Float32Array, [kh, kw, cin, mult]: number[]): Float32Array {
  const out = new Float32Array(kernel.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let c = 0; c < cin; c++)
        for (let m = 0; m < mult; m++) out[((c * mult + m) * kh + y) * kw + x] = kernel[((y * kw + x) * cin + c) * mult + m];
  return out;
}

/** Per-channel affine form of an inference-mode BatchNormalization: y = x * scale + shift. */
export interface ChannelAffine {
  scale: Float32Array;
  shift: Float32Array;
}

export function batchNormAffine(weights: LayerWeights, epsilon: number, channels: number): ChannelAffine {
  const get = (role: string) => weights.byRole.get(role)?.values;
  const gamma = get('gamma');
  const beta = get('beta');
  const mean = get('moving_mean');
  const variance = get('moving_variance');
  if (!mean || !variance) throw new Error('bug: BatchNormalization without moving statistics');
  const scale = new Float32Array(channels);
  const shift = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    // float64 arithmetic here, rounded once, keeps the folded weights within 1e-6 of tfjs.
    const s = (gamma ? gamma[c] : 1) / Math.sqrt(variance[c] + epsilon);
    scale[c] = s;
    shift[c] = (beta ? beta[c] : 0) - mean[c] * s;
  }
  return { scale, shift };
}

/** Folds y = (W x + b) * scale + shift into W' = W * scale[o], b' = b * scale + shift (o = leading axis of W). */
export function foldAffineIntoOihw(weight: Float32Array, bias: Float32Array | undefined, affine: ChannelAffine): { weight: Float32Array; bias: Float32Array } {
  const outChannels = affine.scale.length;
  const per = weight.length / outChannels;
  const w = new Float32Array(weight.length);
  const b = new Float32Array(outChannels);
  for (let o = 0; o < outChannels; o++) {
    for (let k = 0; k < per; k++) w[o * per + k] = weight[o * per + k] * affine.scale[o];
    b[o] = (bias ? bias[o] : 0) * affine.scale[o] + affine.shift[o];
  }
  return { weight: w, bias: b };
}

/** Folds the affine into a Dense kernel [in, out] (output axis last) and its bias. */
export function foldAffineIntoDense(kernel: Float32Array, bias: Float32Array | undefined, [cin, cout]: number[], affine: ChannelAffine): { kernel: Float32Array; bias: Float32Array } {
  const k2 = new Float32Array(kernel.length);
  const b = new Float32Array(cout);
  for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) k2[i * cout + o] = kernel[i * cout + o] * affine.scale[o];
  for (let o = 0; o < cout; o++) b[o] = (bias ? bias[o] : 0) * affine.scale[o] + affine.shift[o];
  return { kernel: k2, bias: b };
}
