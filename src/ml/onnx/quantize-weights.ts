// Optional int8 weight quantization in QDQ form: Conv and Gemm weights become int8 + per-channel scale behind a DequantizeLinear node.
import type { GraphBuilder } from './graph-builder.ts';
import { DataType, type TensorProto } from './proto.ts';

export interface QuantizeReport {
  quantizedTensors: number;
  /** Largest |w - dequantized w| over all weights. */
  maxWeightError: number;
}

/**
 * Symmetric per-channel int8 (zero point 0, range ±127) for every Conv weight (channel axis 0,
 * the output channel) and Gemm weight (axis 1, the output unit). Activations stay float, so
 * this shrinks the file about 4x; onnxruntime dequantizes the weights once at load.
 * DequantizeLinear with `axis` needs opset 13, which the exporter writes.
 */
export function quantizeWeightsQdq(g: GraphBuilder): QuantizeReport {
  const initializers = new Map(g.initializers.map((t) => [t.name, t]));
  const dequantizeNodes: typeof g.nodes = [];
  let quantizedTensors = 0;
  let maxWeightError = 0;
  for (const node of g.nodes) {
    if (node.op_type !== 'Conv' && node.op_type !== 'Gemm') continue;
    const weight = initializers.get(node.input[1]);
    if (!weight || weight.data_type !== DataType.FLOAT) continue;
    const axis = node.op_type === 'Conv' ? 0 : 1;
    const { q, scale, error } = quantizePerChannel(weight, axis);
    maxWeightError = Math.max(maxWeightError, error);
    const base = weight.name;
    g.initializers.splice(g.initializers.indexOf(weight), 1);
    const qName = g.addRaw(`${base}_int8`, weight.dims, DataType.INT8, new Uint8Array(q.buffer));
    const scaleName = g.addFloat(`${base}_scale`, [scale.length], scale);
    const zeroName = g.addRaw(`${base}_zero_point`, [scale.length], DataType.INT8, new Uint8Array(scale.length));
    dequantizeNodes.push({ name: g.uniqueName(`${base}/DequantizeLinear`), op_type: 'DequantizeLinear', input: [qName, scaleName, zeroName], output: [base], attribute: [{ name: 'axis', type: 2, i: axis }] });
    quantizedTensors++;
  }
  // Graph nodes must be in dependency order: the weights' dequantization comes first.
  g.nodes.unshift(...dequantizeNodes);
  return { quantizedTensors, maxWeightError };
}

function quantizePerChannel(t: TensorProto, axis: number): { q: Int8Array; scale: Float32Array; error: number } {
  const w = new Float32Array(t.raw_data.buffer.slice(t.raw_data.byteOffset, t.raw_data.byteOffset + t.raw_data.byteLength));
  const channels = t.dims[axis];
  // Element i belongs to channel floor(i / inner) % channels, inner = product of dims after axis.
  const inner = t.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (i: number) => Math.floor(i / inner) % channels;
  const maxAbs = new Float32Array(channels);
  for (let i = 0; i < w.length; i++) maxAbs[channelOf(i)] = Math.max(maxAbs[channelOf(i)], Math.abs(w[i]));
  const scale = maxAbs.map((m) => (m > 0 ? m / 127 : 1));
  const q = new Int8Array(w.length);
  let error = 0;
  for (let i = 0; i < w.length; i++) {
    const s = scale[channelOf(i)];
    q[i] = Math.max(-127, Math.min(127, Math.round(w[i] / s)));
    error = Math.max(error, Math.abs(w[i] - q[i] * s));
  }
  return { q, scale, error };
}
