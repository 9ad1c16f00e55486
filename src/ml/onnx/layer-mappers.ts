// Translates each supported tfjs layer type into ONNX nodes (one function per layer type).
import type * as tf from '@tensorflow/tfjs';
import type { GraphBuilder } from './graph-builder.ts';
import { asNchw, asPlain, nchwAxis, type OnnxValue } from './values.ts';
import {
  batchNormAffine,
  convKernelToOihw,
  depthwiseKernelToOihw,
  foldAffineIntoDense,
  foldAffineIntoOihw,
  readLayerWeights,
  type ChannelAffine,
} from './weights.ts';

/** What a mapper gets: the layer, its inputs, its output's Keras shape, and a BN to fold in if any. */
export interface MapContext {
  g: GraphBuilder;
  layer: tf.layers.Layer;
  /** The layer's config as tfjs reports it (camelCase keys). */
  config: Record<string, unknown>;
  inputs: OnnxValue[];
  outShape: Array<number | null>;
  /** Set when the only consumer of this layer's output is a BatchNormalization folded into it. */
  foldedBatchNorm?: ChannelAffine;
}

export type LayerMapper = (ctx: MapContext) => OnnxValue;

/** Layer types whose output can absorb a following BatchNormalization (if their activation is linear). */
export const FOLDABLE_INTO = new Set(['Conv2D', 'DepthwiseConv2D', 'Dense']);

export class UnsupportedLayerError extends Error {
  constructor(
    readonly layerName: string,
    readonly className: string,
    detail: string,
  ) {
    super(`layer ${layerName} (${className}): ${detail}`);
  }
}

function pair(v: unknown, fallback: number): [number, number] {
  if (v === undefined || v === null) return [fallback, fallback];
  if (typeof v === 'number') return [v, v];
  const a = v as number[];
  return [a[0], a.length > 1 ? a[1] : a[0]];
}

/** Explicit ONNX pads [top, left, bottom, right] reproducing TF's 'same' (extra pixel at the end). */
function samePads(inH: number, inW: number, [kh, kw]: number[], [sh, sw]: number[], [dh, dw]: number[]): number[] {
  const total = (size: number, k: number, s: number, d: number) => Math.max((Math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0);
  const th = total(inH, kh, sh, dh);
  const tw = total(inW, kw, sw, dw);
  return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
}

function checkChannelsLast(ctx: MapContext): void {
  const format = ctx.config.dataFormat;
  if (format !== undefined && format !== 'channelsLast')
    throw new UnsupportedLayerError(ctx.layer.name, ctx.layer.getClassName(), `dataFormat ${String(format)} (only channelsLast)`);
}

/** Applies a Keras activation by name to an ONNX value. */
export function applyActivation(g: GraphBuilder, layerName: string, activation: string, v: OnnxValue, className = 'Activation'): OnnxValue {
  const out = (name: string): OnnxValue => ({ ...v, name });
  switch (activation) {
    case 'linear':
      return v;
    case 'relu':
      return out(g.op('Relu', [v.name], layerName));
    case 'relu6':
      return out(g.op('Clip', [v.name, g.addFloat(`${layerName}/min`, [], new Float32Array([0])), g.addFloat(`${layerName}/max`, [], new Float32Array([6]))], layerName));
    case 'sigmoid':
      return out(g.op('Sigmoid', [v.name], layerName));
    case 'tanh':
      return out(g.op('Tanh', [v.name], layerName));
    case 'swish': {
      // swish(x) = x * sigmoid(x)
      const s = g.op('Sigmoid', [v.name], `${layerName}/sigmoid`);
      return out(g.op('Mul', [v.name, s], layerName));
    }
    case 'softmax': {
      const axis = v.layout === 'nchw' ? 1 : -1;
      return out(g.op('Softmax', [v.name], layerName, { axis }));
    }
    default:
      throw new UnsupportedLayerError(layerName, className, `activation '${activation}' has no ONNX mapping here`);
  }
}

function fusedActivation(ctx: MapContext, v: OnnxValue): OnnxValue {
  const activation = (ctx.config.activation as string | undefined) ?? 'linear';
  return applyActivation(ctx.g, `${ctx.layer.name}/${activation}`, activation, v, ctx.layer.getClassName());
}

function convPads(ctx: MapContext, x: OnnxValue, kernel: number[], strides: number[], dilations: number[]): number[] {
  if (ctx.config.padding === 'valid') return x.pendingPads ?? [0, 0, 0, 0];
  if (x.pendingPads) throw new Error(`bug: padding left pending for a '${String(ctx.config.padding)}' conv`);
  if (ctx.config.padding === 'same') return samePads(x.shape[1] as number, x.shape[2] as number, kernel, strides, dilations);
  throw new UnsupportedLayerError(ctx.layer.name, ctx.layer.getClassName(), `padding ${String(ctx.config.padding)}`);
}

function emitConv(ctx: MapContext, weight: Float32Array, wDims: number[], bias: Float32Array | undefined, group: number): OnnxValue {
  const { g, layer } = ctx;
  checkChannelsLast(ctx);
  const input = ctx.inputs[0];
  const x = input.pendingPads ? input : asNchw(g, input);
  const kernel = [wDims[2], wDims[3]];
  const strides = pair(ctx.config.strides, 1);
  const dilations = pair(ctx.config.dilationRate, 1);
  let w = weight;
  let b = bias;
  if (ctx.foldedBatchNorm) ({ weight: w, bias: b } = foldAffineIntoOihw(weight, bias, ctx.foldedBatchNorm));
  const inputs = [x.name, g.addFloat(`${layer.name}/weight`, wDims, w)];
  if (b) inputs.push(g.addFloat(`${layer.name}/bias`, [wDims[0]], b));
  const name = g.op('Conv', inputs, layer.name, {
    kernel_shape: kernel,
    strides,
    dilations,
    group,
    pads: convPads(ctx, x, kernel, strides, dilations),
  });
  return fusedActivation(ctx, { name, shape: ctx.outShape, layout: 'nchw' });
}

const conv2d: LayerMapper = (ctx) => {
  const w = readLayerWeights(ctx.layer);
  const kernel = w.byRole.get('kernel');
  if (!kernel) throw new Error(`bug: Conv2D ${ctx.layer.name} has no kernel`);
  const [kh, kw, cin, cout] = kernel.shape;
  return emitConv(ctx, convKernelToOihw(kernel.values, kernel.shape), [cout, cin, kh, kw], w.byRole.get('bias')?.values, 1);
};

const depthwiseConv2d: LayerMapper = (ctx) => {
  const w = readLayerWeights(ctx.layer);
  const kernel = w.byRole.get('depthwise_kernel');
  if (!kernel) throw new Error(`bug: DepthwiseConv2D ${ctx.layer.name} has no depthwise_kernel`);
  const [kh, kw, cin, mult] = kernel.shape;
  return emitConv(ctx, depthwiseKernelToOihw(kernel.values, kernel.shape), [cin * mult, 1, kh, kw], w.byRole.get('bias')?.values, cin);
};

const dense: LayerMapper = (ctx) => {
  const { g, layer } = ctx;
  const x = ctx.inputs[0];
  if (x.shape.length !== 2) throw new UnsupportedLayerError(layer.name, 'Dense', `input of rank ${x.shape.length} (only rank 2)`);
  const w = readLayerWeights(layer);
  const kernel = w.byRole.get('kernel');
  if (!kernel) throw new Error(`bug: Dense ${layer.name} has no kernel`);
  let k = kernel.values;
  let b = w.byRole.get('bias')?.values ?? new Float32Array(kernel.shape[1]);
  if (ctx.foldedBatchNorm) ({ kernel: k, bias: b } = foldAffineIntoDense(k, b, kernel.shape, ctx.foldedBatchNorm));
  const name = g.op('Gemm', [x.name, g.addFloat(`${layer.name}/kernel`, kernel.shape, k), g.addFloat(`${layer.name}/bias`, [kernel.shape[1]], b)], layer.name);
  return fusedActivation(ctx, { name, shape: ctx.outShape, layout: 'plain' });
};

const batchNormalization: LayerMapper = (ctx) => {
  const { g, layer } = ctx;
  const x = ctx.inputs[0];
  const axis = (ctx.config.axis as number | undefined) ?? -1;
  const rank = x.shape.length;
  if (axis !== -1 && axis !== rank - 1) throw new UnsupportedLayerError(layer.name, 'BatchNormalization', `axis ${axis} (only the channel axis, last)`);
  const channels = x.shape[rank - 1] as number;
  const affine = batchNormAffine(readLayerWeights(layer), (ctx.config.epsilon as number | undefined) ?? 1e-3, channels);
  if (rank === 4 || rank === 2) {
    // ONNX BatchNormalization normalises axis 1: NCHW for images, [N, C] for features.
    const input = rank === 4 ? asNchw(g, x) : x;
    const ones = new Float32Array(channels).fill(1);
    const zeros = new Float32Array(channels);
    const name = g.op(
      'BatchNormalization',
      [
        input.name,
        g.addFloat(`${layer.name}/scale`, [channels], affine.scale),
        g.addFloat(`${layer.name}/shift`, [channels], affine.shift),
        g.addFloat(`${layer.name}/mean`, [channels], zeros),
        g.addFloat(`${layer.name}/var`, [channels], ones),
      ],
      layer.name,
      // mean 0, var 1 and epsilon 0: the folded scale/shift already hold the statistics.
      { epsilon: { float: 0 } },
    );
    return { name, shape: ctx.outShape, layout: input.layout };
  }
  throw new UnsupportedLayerError(layer.name, 'BatchNormalization', `input of rank ${rank}`);
};

const activation: LayerMapper = (ctx) => applyActivation(ctx.g, ctx.layer.name, ctx.config.activation as string, ctx.inputs[0]);

/** ZeroPadding2D's config as [top, left, bottom, right]. */
export function zeroPaddingAmounts(config: Record<string, unknown>): [number, number, number, number] {
  const p = config.padding;
  if (typeof p === 'number') return [p, p, p, p];
  const [h, w] = p as Array<number | number[]>;
  const [top, bottom] = typeof h === 'number' ? [h, h] : [h[0], h[1]];
  const [left, right] = typeof w === 'number' ? [w, w] : [w[0], w[1]];
  return [top, left, bottom, right];
}

const zeroPadding2d: LayerMapper = (ctx) => {
  checkChannelsLast(ctx);
  const { g, layer } = ctx;
  const x = asNchw(g, ctx.inputs[0]);
  const [top, left, bottom, right] = zeroPaddingAmounts(ctx.config);
  const pads = g.addInt64(`${layer.name}/pads`, [0, 0, top, left, 0, 0, bottom, right]);
  return { name: g.op('Pad', [x.name, pads], layer.name, { mode: 'constant' }), shape: ctx.outShape, layout: 'nchw' };
};

const globalAveragePooling2d: LayerMapper = (ctx) => {
  checkChannelsLast(ctx);
  const { g, layer } = ctx;
  const x = asNchw(g, ctx.inputs[0]);
  const pooled = g.op('GlobalAveragePool', [x.name], `${layer.name}/pool`); // [N, C, 1, 1]
  if (ctx.outShape.length === 4) return { name: pooled, shape: ctx.outShape, layout: 'nchw' };
  return { name: g.op('Flatten', [pooled], layer.name, { axis: 1 }), shape: ctx.outShape, layout: 'plain' }; // [N, C]
};

const reshape: LayerMapper = (ctx) => {
  const { g, layer } = ctx;
  const target = ctx.outShape.slice(1) as number[];
  const x = ctx.inputs[0];
  // [N, C] -> (1, 1, C): the NCHW form [N, C, 1, 1] holds the same elements in the same order.
  if (x.shape.length === 2 && target.length === 3 && target[0] === 1 && target[1] === 1) {
    const shape = g.addInt64(`${layer.name}/shape`, [0, target[2], 1, 1]);
    return { name: g.op('Reshape', [x.name, shape], layer.name), shape: ctx.outShape, layout: 'nchw' };
  }
  const plain = asPlain(g, x);
  const shape = g.addInt64(`${layer.name}/shape`, [0, ...target]);
  return { name: g.op('Reshape', [plain.name, shape], layer.name), shape: ctx.outShape, layout: 'plain' };
};

const flatten: LayerMapper = (ctx) => {
  const x = asPlain(ctx.g, ctx.inputs[0]);
  return { name: ctx.g.op('Flatten', [x.name], ctx.layer.name, { axis: 1 }), shape: ctx.outShape, layout: 'plain' };
};

/** Elementwise merges: all inputs share one layout so Keras' broadcasting carries over. */
function merge(opType: 'Add' | 'Mul' | 'Sub' | 'Max' | 'Min'): LayerMapper {
  return (ctx) => {
    const { g, layer } = ctx;
    const ranks = new Set(ctx.inputs.map((v) => v.shape.length));
    if (ranks.size !== 1) throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'inputs of different ranks');
    const inputs = ctx.inputs[0].shape.length === 4 ? ctx.inputs.map((v) => asNchw(g, v)) : ctx.inputs.map((v) => asPlain(g, v));
    let acc = inputs[0].name;
    for (let i = 1; i < inputs.length; i++) acc = g.op(opType, [acc, inputs[i].name], i === inputs.length - 1 ? layer.name : `${layer.name}_${i}`);
    return { name: acc, shape: ctx.outShape, layout: inputs[0].layout };
  };
}

const average: LayerMapper = (ctx) => {
  const summed = merge('Add')(ctx);
  const n = ctx.g.addFloat(`${ctx.layer.name}/count`, [], new Float32Array([ctx.inputs.length]));
  return { ...summed, name: ctx.g.op('Div', [summed.name, n], `${ctx.layer.name}/mean`) };
};

const concatenate: LayerMapper = (ctx) => {
  const { g, layer } = ctx;
  const rank = ctx.inputs[0].shape.length;
  const kerasAxis = (ctx.config.axis as number | undefined) ?? -1;
  if (rank === 4) {
    const inputs = ctx.inputs.map((v) => asNchw(g, v));
    return { name: g.op('Concat', inputs.map((v) => v.name), layer.name, { axis: nchwAxis(kerasAxis) }), shape: ctx.outShape, layout: 'nchw' };
  }
  const inputs = ctx.inputs.map((v) => asPlain(g, v));
  return { name: g.op('Concat', inputs.map((v) => v.name), layer.name, { axis: kerasAxis }), shape: ctx.outShape, layout: 'plain' };
};

const rescaling: LayerMapper = (ctx) => {
  const { g, layer } = ctx;
  const x = ctx.inputs[0];
  const scale = g.addFloat(`${layer.name}/scale`, [], new Float32Array([ctx.config.scale as number]));
  const offset = g.addFloat(`${layer.name}/offset`, [], new Float32Array([(ctx.config.offset as number | undefined) ?? 0]));
  const scaled = g.op('Mul', [x.name, scale], `${layer.name}/mul`);
  return { ...x, shape: ctx.outShape, name: g.op('Add', [scaled, offset], layer.name) };
};

const identity: LayerMapper = (ctx) => ({ ...ctx.inputs[0], shape: ctx.outShape });

/** Mappers by tfjs class name. Dropout-like layers are identities at inference. */
export const LAYER_MAPPERS: Record<string, LayerMapper> = {
  Conv2D: conv2d,
  DepthwiseConv2D: depthwiseConv2d,
  Dense: dense,
  BatchNormalization: batchNormalization,
  Activation: activation,
  ZeroPadding2D: zeroPadding2d,
  GlobalAveragePooling2D: globalAveragePooling2d,
  Reshape: reshape,
  Flatten: flatten,
  Add: merge('Add'),
  Multiply: merge('Mul'),
  Subtract: merge('Sub'),
  Maximum: merge('Max'),
  Minimum: merge('Min'),
  Average: average,
  Concatenate: concatenate,
  Rescaling: rescaling,
  Dropout: identity,
  SpatialDropout1D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
};
