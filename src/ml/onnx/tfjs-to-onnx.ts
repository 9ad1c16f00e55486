// Translates a tfjs LayersModel into an ONNX model: walks the layer graph from the outputs, maps each layer, folds BatchNorms.
import type * as tf from '@tensorflow/tfjs';
import { GraphBuilder } from './graph-builder.ts';
import { FOLDABLE_INTO, LAYER_MAPPERS, UnsupportedLayerError, zeroPaddingAmounts } from './layer-mappers.ts';
import { asNchw } from './values.ts';
import { DataType, encodeModel, valueInfo, type ModelProto } from './proto.ts';
import { quantizeWeightsQdq, type QuantizeReport } from './quantize-weights.ts';
import { asPlain, type OnnxValue } from './values.ts';
import { batchNormAffine, readLayerWeights, type ChannelAffine } from './weights.ts';

/** The smallest opset with Pad/Clip taking tensors and Reshape's 0 meaning "copy"; every op here exists in it. */
export const OPSET = 13;
export const INPUT_NAME = 'image';

export interface ExportOptions {
  /** Strings stored in the model's metadata_props (labels, preprocessing, ...). */
  metadata?: Record<string, string>;
  docString?: string;
  /** Write Conv/Gemm weights as int8 behind DequantizeLinear (QDQ), per output channel. */
  quantizeWeights?: boolean;
}

export interface ExportResult {
  bytes: Uint8Array;
  /** ONNX output names, in the model's output order (the output layers' names). */
  outputNames: string[];
  /** Input shape [batch, 3, H, W] with 'batch' symbolic. */
  inputShape: [string, number, number, number];
  nodeCount: number;
  foldedBatchNorms: number;
  quantization?: QuantizeReport;
}

type SymbolicTensor = tf.SymbolicTensor;

/** Symbolic tensors in dependency order (inputs before the tensors computed from them). */
function topologicalOrder(outputs: SymbolicTensor[]): SymbolicTensor[] {
  const order: SymbolicTensor[] = [];
  const state = new Map<number, 'visiting' | 'done'>();
  // Iterative DFS: EfficientNet is deep enough that recursion depth is worth avoiding.
  const stack: Array<{ t: SymbolicTensor; expanded: boolean }> = outputs.map((t) => ({ t, expanded: false })).reverse();
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (state.get(top.t.id) === 'done') continue;
    if (top.expanded) {
      state.set(top.t.id, 'done');
      order.push(top.t);
      continue;
    }
    state.set(top.t.id, 'visiting');
    stack.push({ t: top.t, expanded: true });
    for (const input of [...top.t.inputs].reverse()) if (state.get(input.id) !== 'done') stack.push({ t: input, expanded: false });
  }
  return order;
}

function consumersOf(order: SymbolicTensor[]): Map<number, SymbolicTensor[]> {
  const consumers = new Map<number, SymbolicTensor[]>();
  for (const t of order) for (const input of t.inputs) consumers.set(input.id, [...(consumers.get(input.id) ?? []), t]);
  return consumers;
}

/** A BatchNormalization that can be folded into the layer producing `t`, or undefined. */
function foldableBatchNorm(t: SymbolicTensor, consumers: Map<number, SymbolicTensor[]>, outputIds: Set<number>): SymbolicTensor | undefined {
  const layer = t.sourceLayer;
  if (!FOLDABLE_INTO.has(layer.getClassName()) || outputIds.has(t.id)) return undefined;
  const config = layer.getConfig() as Record<string, unknown>;
  if ((config.activation ?? 'linear') !== 'linear') return undefined;
  const users = consumers.get(t.id) ?? [];
  if (users.length !== 1 || users[0].sourceLayer.getClassName() !== 'BatchNormalization') return undefined;
  const bnAxis = (users[0].sourceLayer.getConfig() as Record<string, unknown>).axis as number | undefined;
  if (bnAxis !== undefined && bnAxis !== -1 && bnAxis !== t.shape.length - 1) return undefined;
  return users[0];
}

/** True when a ZeroPadding2D's only consumer is a 'valid' convolution, which can do the padding itself. */
function paddingFoldsIntoConv(t: SymbolicTensor, consumers: Map<number, SymbolicTensor[]>, outputIds: Set<number>): boolean {
  const users = consumers.get(t.id) ?? [];
  if (outputIds.has(t.id) || users.length !== 1) return false;
  const user = users[0].sourceLayer;
  const config = user.getConfig() as Record<string, unknown>;
  return (user.getClassName() === 'Conv2D' || user.getClassName() === 'DepthwiseConv2D') && config.padding === 'valid' && (config.dataFormat ?? 'channelsLast') === 'channelsLast';
}

/** Exports a single-input, channels-last image model; throws UnsupportedLayerError naming the layer it cannot map. */
export function exportToOnnx(model: tf.LayersModel, options: ExportOptions = {}): ExportResult {
  if (model.inputs.length !== 1) throw new UnsupportedLayerError(model.name, 'LayersModel', `${model.inputs.length} inputs (only 1)`);
  const input = model.inputs[0];
  if (input.shape.length !== 4 || input.shape[3] !== 3)
    throw new UnsupportedLayerError(input.sourceLayer.name, 'InputLayer', `input shape [${input.shape.join(',')}] (expected [null,H,W,3])`);
  const [, height, width] = input.shape as [null, number, number, number];

  const g = new GraphBuilder();
  const values = new Map<number, OnnxValue>();
  values.set(input.id, { name: g.reserve(INPUT_NAME), shape: input.shape, layout: 'nchw' });

  const outputNames = model.outputs.map((t) => t.sourceLayer.name);
  for (const name of outputNames) g.reserve(name);
  const outputIds = new Set(model.outputs.map((t) => t.id));
  const order = topologicalOrder(model.outputs);
  const consumers = consumersOf(order);
  let folded = 0;

  for (const t of order) {
    if (values.has(t.id)) continue; // the input, or a BatchNorm already folded into its producer
    const layer = t.sourceLayer;
    const className = layer.getClassName();
    if (t.inputs.length === 0) throw new UnsupportedLayerError(layer.name, className, 'a second model input');
    const mapper = LAYER_MAPPERS[className];
    if (!mapper) throw new UnsupportedLayerError(layer.name, className, 'no ONNX mapping for this layer type');
    if (className === 'ZeroPadding2D' && paddingFoldsIntoConv(t, consumers, outputIds)) {
      const x = asNchw(g, values.get(t.inputs[0].id)!);
      values.set(t.id, { ...x, shape: t.shape, pendingPads: zeroPaddingAmounts(layer.getConfig() as Record<string, unknown>) });
      continue;
    }
    const bnTensor = foldableBatchNorm(t, consumers, outputIds);
    let foldedBatchNorm: ChannelAffine | undefined;
    if (bnTensor) {
      const bnConfig = bnTensor.sourceLayer.getConfig() as Record<string, unknown>;
      const channels = t.shape[t.shape.length - 1] as number;
      foldedBatchNorm = batchNormAffine(readLayerWeights(bnTensor.sourceLayer), (bnConfig.epsilon as number | undefined) ?? 1e-3, channels);
    }
    const inputs = t.inputs.map((i) => {
      const v = values.get(i.id);
      if (!v) throw new Error(`bug: ${layer.name}'s input ${i.name} was not translated before it`);
      return v;
    });
    const out = mapper({ g, layer, config: layer.getConfig() as Record<string, unknown>, inputs, outShape: t.shape, foldedBatchNorm });
    values.set(t.id, out);
    if (bnTensor) {
      values.set(bnTensor.id, { ...out, shape: bnTensor.shape });
      folded++;
    }
  }

  const graphOutputs = model.outputs.map((t, k) => {
    const v = asPlain(g, values.get(t.id)!);
    g.op('Identity', [v.name], `${outputNames[k]}/out`, {}, outputNames[k]);
    return valueInfo(outputNames[k], DataType.FLOAT, ['batch', ...(t.shape.slice(1) as number[])]);
  });

  const quantization = options.quantizeWeights ? quantizeWeightsQdq(g) : undefined;

  const proto: ModelProto = {
    ir_version: 8,
    producer_name: 'brickflow',
    producer_version: '0.1.0',
    opset_import: [{ domain: '', version: OPSET }],
    doc_string: options.docString,
    metadata_props: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: model.name,
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(INPUT_NAME, DataType.FLOAT, ['batch', 3, height, width])],
      output: graphOutputs,
    },
  };
  return {
    bytes: encodeModel(proto),
    outputNames,
    inputShape: ['batch', 3, height, width],
    nodeCount: g.nodes.length,
    foldedBatchNorms: folded,
    quantization,
  };
}
