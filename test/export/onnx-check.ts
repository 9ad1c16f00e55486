// Test helper: runs a tfjs model and its ONNX export on the same random input and reports the largest difference.
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { exportToOnnx, type ExportResult } from '../../src/ml/onnx/tfjs-to-onnx.ts';
import { nhwcToNchw } from '../../src/ml/onnx/ort-session.ts';

export interface ParityCheck {
  maxDiff: number;
  exported: ExportResult;
  /** tfjs output shapes, for asserting the ONNX outputs have the same ones. */
  tfShapes: number[][];
  onnxShapes: number[][];
}

export async function compareOnInput(model: tf.LayersModel, batch = 2, seed = 7): Promise<ParityCheck> {
  const exported = exportToOnnx(model);
  const session = await ort.InferenceSession.create(exported.bytes);
  const [, h, w, c] = model.inputs[0].shape as number[];
  const x = tf.randomNormal([batch, h, w, c], 0, 1, 'float32', seed);
  const raw = model.predict(x);
  const tfOuts = Array.isArray(raw) ? raw : [raw];
  const result = await session.run({ image: new ort.Tensor('float32', nhwcToNchw(x.dataSync() as Float32Array, batch, h, w, c), [batch, c, h, w]) });
  let maxDiff = 0;
  const onnxShapes: number[][] = [];
  tfOuts.forEach((t, k) => {
    const o = result[exported.outputNames[k]];
    onnxShapes.push(o.dims.map(Number));
    const a = t.dataSync();
    const b = o.data as Float32Array;
    if (a.length !== b.length) maxDiff = Infinity;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]) || 0, Number.isNaN(b[i]) ? Infinity : 0);
  });
  await session.release();
  return { maxDiff, exported, tfShapes: tfOuts.map((t) => t.shape), onnxShapes };
}
