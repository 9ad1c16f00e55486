// Each supported layer type, exported alone (or in the smallest graph that needs it), gives the tfjs numbers in onnxruntime.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { UnsupportedLayerError } from '../../src/ml/onnx/layer-mappers.ts';
import { decodeModel } from '../../src/ml/onnx/proto.ts';
import { exportToOnnx } from '../../src/ml/onnx/tfjs-to-onnx.ts';
import { compareOnInput } from './onnx-check.ts';
import { randomizeBatchNorms, singleLayerModel } from './tiny-models.ts';

type Build = (x: tf.SymbolicTensor) => tf.SymbolicTensor;
const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) => layer.apply(x) as tf.SymbolicTensor;
const gap = (x: tf.SymbolicTensor) => apply(tf.layers.globalAveragePooling2d({}), x);

const cases: Array<[string, number, Build]> = [
  ['Conv2D same, stride 1, with bias', 9, (x) => apply(tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same' }), x)],
  ['Conv2D same, stride 2, odd input (TF pads the end)', 9, (x) => apply(tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', useBias: false }), x)],
  ['Conv2D same, stride 2, even input, 5x5 kernel', 10, (x) => apply(tf.layers.conv2d({ filters: 4, kernelSize: 5, strides: 2, padding: 'same' }), x)],
  ['Conv2D valid, non-square kernel', 8, (x) => apply(tf.layers.conv2d({ filters: 3, kernelSize: [3, 1], padding: 'valid' }), x)],
  ['Conv2D dilated', 11, (x) => apply(tf.layers.conv2d({ filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same' }), x)],
  ['Conv2D with a fused relu', 8, (x) => apply(tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }), x)],
  ['DepthwiseConv2D same, stride 1', 9, (x) => apply(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same' }), x)],
  ['DepthwiseConv2D stride 2, multiplier 2, no bias', 9, (x) => apply(tf.layers.depthwiseConv2d({ kernelSize: 5, strides: 2, padding: 'same', depthMultiplier: 2, useBias: false }), x)],
  ['ZeroPadding2D alone (kept as a Pad op)', 5, (x) => apply(tf.layers.zeroPadding2d({ padding: [[2, 0], [1, 3]] }), x)],
  ['ZeroPadding2D asymmetric then valid conv (EfficientNet stem)', 8, (x) => apply(tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'valid' }), apply(tf.layers.zeroPadding2d({ padding: [[0, 1], [1, 2]] }), x))],
  ['BatchNormalization on an image (not foldable: first layer)', 6, (x) => apply(tf.layers.batchNormalization({}), x)],
  ['BatchNormalization folded into Conv2D', 6, (x) => apply(tf.layers.batchNormalization({ axis: 3, epsilon: 1e-3 }), apply(tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false }), x))],
  ['BatchNormalization folded into DepthwiseConv2D', 6, (x) => apply(tf.layers.batchNormalization({}), apply(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same' }), x))],
  ['BatchNormalization after Dense (folded) and on features (not folded)', 5, (x) => apply(tf.layers.batchNormalization({}), apply(tf.layers.activation({ activation: 'relu' }), apply(tf.layers.batchNormalization({}), apply(tf.layers.dense({ units: 6 }), gap(x)))))],
  ['Activation swish', 5, (x) => apply(tf.layers.activation({ activation: 'swish' }), x)],
  ['Activation sigmoid', 5, (x) => apply(tf.layers.activation({ activation: 'sigmoid' }), x)],
  ['Activation relu', 5, (x) => apply(tf.layers.activation({ activation: 'relu' }), x)],
  ['Activation tanh and relu6', 5, (x) => apply(tf.layers.activation({ activation: 'relu6' }), apply(tf.layers.activation({ activation: 'tanh' }), x))],
  ['Activation linear', 5, (x) => apply(tf.layers.activation({ activation: 'linear' }), x)],
  ['Activation softmax on features', 5, (x) => apply(tf.layers.activation({ activation: 'softmax' }), gap(x))],
  ['GlobalAveragePooling2D', 7, (x) => gap(x)],
  ['Reshape to (1, 1, C) and Multiply (squeeze-excite broadcast)', 6, (x) => apply(tf.layers.multiply({}), [x, apply(tf.layers.conv2d({ filters: 3, kernelSize: 1, activation: 'sigmoid' }), apply(tf.layers.reshape({ targetShape: [1, 1, 3] }), gap(x)))])],
  ['Reshape of an image to a different spatial shape', 4, (x) => apply(tf.layers.conv2d({ filters: 2, kernelSize: 1 }), apply(tf.layers.reshape({ targetShape: [8, 2, 3] }), x))],
  ['Flatten keeps Keras (NHWC) element order', 4, (x) => apply(tf.layers.dense({ units: 5 }), apply(tf.layers.flatten({}), apply(tf.layers.conv2d({ filters: 2, kernelSize: 1 }), x)))],
  ['Add (residual)', 6, (x) => apply(tf.layers.add({}), [x, apply(tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }), x)])],
  ['Concatenate on the channel axis', 6, (x) => apply(tf.layers.concatenate({ axis: -1 }), [x, apply(tf.layers.conv2d({ filters: 2, kernelSize: 1 }), x)])],
  ['Concatenate features', 6, (x) => apply(tf.layers.concatenate({}), [gap(x), apply(tf.layers.dense({ units: 4 }), gap(x))])],
  ['Dense (Gemm) with a fused sigmoid', 5, (x) => apply(tf.layers.dense({ units: 4, activation: 'sigmoid' }), gap(x))],
  ['Dropout is dropped (identity at inference)', 5, (x) => apply(tf.layers.dense({ units: 4 }), apply(tf.layers.dropout({ rate: 0.5 }), gap(x)))],
];

describe('each layer type matches tfjs in onnxruntime', () => {
  it.each(cases)('%s', async (_name, size, build) => {
    const model = singleLayerModel(size, 3, build);
    randomizeBatchNorms(model, size);
    const check = await compareOnInput(model);
    expect(check.onnxShapes).toEqual(check.tfShapes);
    expect(check.maxDiff).toBeLessThan(1e-5);
  });
});

describe('the ONNX graph', () => {
  it('folds a BatchNormalization that follows a linear conv into it (no BatchNormalization node left)', () => {
    const model = singleLayerModel(6, 3, (x) => apply(tf.layers.batchNormalization({}), apply(tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }), x)));
    const exported = exportToOnnx(model);
    const ops = decodeModel(exported.bytes).graph.node.map((n) => n.op_type);
    expect(exported.foldedBatchNorms).toBe(1);
    expect(ops).not.toContain('BatchNormalization');
  });

  it("folds a ZeroPadding2D into the 'valid' conv after it (no Pad node), and keeps Pad otherwise", () => {
    const folded = singleLayerModel(8, 3, (x) => apply(tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'valid' }), apply(tf.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]] }), x)));
    const foldedGraph = decodeModel(exportToOnnx(folded).bytes).graph;
    expect(foldedGraph.node.map((n) => n.op_type)).not.toContain('Pad');
    const conv = foldedGraph.node.find((n) => n.op_type === 'Conv')!;
    expect(conv.attribute.find((a) => a.name === 'pads')?.ints).toEqual([0, 0, 1, 1]);
    const kept = singleLayerModel(8, 3, (x) => apply(tf.layers.activation({ activation: 'relu' }), apply(tf.layers.zeroPadding2d({ padding: 1 }), x)));
    expect(decodeModel(exportToOnnx(kept).bytes).graph.node.map((n) => n.op_type)).toContain('Pad');
  });

  it('keeps a conv stack in NCHW: no Transpose between convolutions', () => {
    const model = singleLayerModel(8, 3, (x) => apply(tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }), apply(tf.layers.activation({ activation: 'swish' }), apply(tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }), x))));
    const ops = decodeModel(exportToOnnx(model).bytes).graph.node.map((n) => n.op_type);
    expect(ops.filter((o) => o === 'Transpose')).toHaveLength(1); // only the final NCHW -> NHWC for the output
    expect(ops).toEqual(expect.arrayContaining(['Conv', 'Sigmoid', 'Mul']));
  });

  it('int8 weight quantization: Conv/Gemm weights stored as int8 behind DequantizeLinear, outputs close to FP32', async () => {
    const model = singleLayerModel(8, 3, (x) => apply(tf.layers.dense({ units: 64 }), gap(apply(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same' }), apply(tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu' }), x)))));
    const fp32 = exportToOnnx(model);
    const int8 = exportToOnnx(model, { quantizeWeights: true });
    const graph = decodeModel(int8.bytes).graph;
    expect(graph.node.filter((n) => n.op_type === 'DequantizeLinear')).toHaveLength(3);
    expect(graph.initializer.filter((t) => t.data_type === 3 /* INT8 */ && t.name.endsWith('_int8'))).toHaveLength(3);
    expect(int8.quantization?.maxWeightError).toBeGreaterThan(0);
    expect(int8.bytes.length).toBeLessThan(fp32.bytes.length / 2); // weights dominate here: 4 bytes -> 1
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(int8.bytes);
    const x = new Float32Array(3 * 64).map((_, i) => Math.sin(i));
    const out = (await session.run({ image: new ort.Tensor('float32', x, [1, 3, 8, 8]) }))[int8.outputNames[0]].data as Float32Array;
    const ref = model.predict(tf.transpose(tf.tensor4d(x, [1, 3, 8, 8]), [0, 2, 3, 1])) as tf.Tensor;
    const refData = ref.dataSync();
    const scale = Math.max(...Array.from(refData, Math.abs));
    for (let i = 0; i < out.length; i++) expect(Math.abs(out[i] - refData[i])).toBeLessThan(0.05 * scale + 1e-3);
  });

  it('rejects a layer it cannot map, naming the layer and its type', () => {
    const model = singleLayerModel(8, 3, (x) => apply(tf.layers.maxPooling2d({ poolSize: 2, name: 'my_pool' }), x));
    expect(() => exportToOnnx(model)).toThrow(UnsupportedLayerError);
    expect(() => exportToOnnx(model)).toThrow(/my_pool \(MaxPooling2D\)/);
  });

  it('rejects an activation it cannot map', () => {
    const model = singleLayerModel(4, 3, (x) => apply(tf.layers.activation({ activation: 'elu', name: 'odd_act' }), x));
    expect(() => exportToOnnx(model)).toThrow(/odd_act.*'elu'/);
  });
});
