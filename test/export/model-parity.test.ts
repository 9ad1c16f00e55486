// Whole classifiers (random weights, and after a few training steps) give the same logits in onnxruntime as in tfjs.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { buildClassifier } from '../../src/ml/model/classifier.ts';
import { openSession } from '../../src/ml/onnx/ort-session.ts';
import { checkParity } from '../../src/ml/onnx/parity.ts';
import { decodeModel } from '../../src/ml/onnx/proto.ts';
import { exportToOnnx } from '../../src/ml/onnx/tfjs-to-onnx.ts';
import { createRng } from '../../src/ml/random.ts';
import { compareOnInput } from './onnx-check.ts';
import { efficientNetLike, randomizeBatchNorms } from './tiny-models.ts';

/** Deterministic uint8 images with some structure (gradients and a block), HWC. */
function testImages(n: number, size: number): Uint8Array {
  const out = new Uint8Array(n * size * size * 3);
  for (let i = 0; i < n; i++)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        const o = ((i * size + y) * size + x) * 3;
        const inBlock = x > size / 4 + i && x < size / 2 + i && y > size / 3 && y < (3 * size) / 4;
        out[o] = inBlock ? (40 * i) % 256 : (x * 7) % 256;
        out[o + 1] = inBlock ? 200 : (y * 5 + i * 11) % 256;
        out[o + 2] = ((x + y) * 3 + i * 29) % 256;
      }
  return out;
}

describe('classifier parity', () => {
  it('an EfficientNet-shaped two-head model with random weights: same logits, names and dynamic batch', async () => {
    const model = efficientNetLike(32, 7, 5);
    const single = await compareOnInput(model, 1);
    const batch = await compareOnInput(model, 3);
    expect(single.maxDiff).toBeLessThan(1e-4);
    expect(batch.maxDiff).toBeLessThan(1e-4);
    expect(batch.onnxShapes).toEqual([[3, 7], [3, 5]]);
    const graph = decodeModel(batch.exported.bytes).graph;
    expect(graph.input.map((v) => v.name)).toEqual(['image']);
    expect(graph.input[0].type.tensor_type.shape.dim).toMatchObject([{ dim_param: 'batch' }, { dim_value: 3 }, { dim_value: 32 }, { dim_value: 32 }]);
    expect(graph.output.map((v) => v.name)).toEqual(['part_logits', 'color_logits']);
  });

  it("the project's EfficientNet classifier (src/ml/model) at a small width: max diff <= 1e-4 and identical argmax on images", async () => {
    const { model } = buildClassifier({ inputSize: 32, widthCoefficient: 0.25, depthCoefficient: 0.34, dropConnectRate: 0.2, headUnits: 32, headDropout: 0.3, nParts: 9, nColors: 4, architecture: 'multitask' });
    randomizeBatchNorms(model, 3);
    const exported = exportToOnnx(model);
    const session = await openSession(exported.bytes, 1);
    const report = await checkParity(model, session, exported.outputNames, { n: 12, size: 32, images: testImages(12, 32) }, { batchSize: 5 });
    expect(report.images).toBe(12);
    expect(report.max_abs_diff).toBeLessThanOrEqual(1e-4);
    expect(report.argmax_agreement).toBe(1);
    expect(Object.keys(report.per_output)).toEqual(['part_logits', 'color_logits']);
  });

  it('option B (two backbones on one input, prefixed names) exports with both heads matching', async () => {
    const { model } = buildClassifier({ inputSize: 32, widthCoefficient: 0.25, depthCoefficient: 0.2, dropConnectRate: 0.2, headUnits: 16, headDropout: 0.3, nParts: 6, nColors: 3, architecture: 'two_models' });
    randomizeBatchNorms(model, 5);
    const check = await compareOnInput(model, 2);
    expect(check.exported.outputNames).toEqual(['part_logits', 'color_logits']);
    expect(check.onnxShapes).toEqual([[2, 6], [2, 3]]);
    expect(check.maxDiff).toBeLessThan(1e-4);
  });

  it('a model after a few training steps (moved BatchNorm statistics) still matches', async () => {
    // Every draw seeded (the initialisers, fit's shuffle and dropout take theirs from
    // Math.random): unseeded, one draw in many trained the model into infinite logits.
    const original = Math.random;
    Math.random = createRng(7);
    let model: tf.LayersModel;
    let before: Float32Array;
    try {
      model = efficientNetLike(16, 4, 3);
      model.compile({ optimizer: tf.train.adam(0.01), loss: ['categoricalCrossentropy', 'categoricalCrossentropy'] });
      const x = tf.randomNormal([8, 16, 16, 3], 0, 1, 'float32', 1);
      const yp = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32'), 4);
      const yc = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
      before = (model.getLayer('stem_bn').getWeights()[2].dataSync() as Float32Array).slice();
      await model.fit(x, [yp, yc], { epochs: 3, batchSize: 4, verbose: 0 });
    } finally {
      Math.random = original;
    }
    const after = model.getLayer('stem_bn').getWeights()[2].dataSync() as Float32Array;
    expect(Array.from(after)).not.toEqual(Array.from(before)); // training really moved the statistics
    const check = await compareOnInput(model, 4, 11);
    expect(check.maxDiff).toBeLessThan(1e-4);
  });

  it('parity reports a mismatch when the ONNX model is not the tfjs one', async () => {
    const a = efficientNetLike(16, 6, 3);
    const b = efficientNetLike(16, 6, 3); // same shape, other random weights
    const exported = exportToOnnx(b);
    const session = await openSession(exported.bytes, 1);
    const report = await checkParity(a, session, exported.outputNames, { n: 6, size: 16, images: testImages(6, 16) });
    expect(report.max_abs_diff).toBeGreaterThan(1e-3);
  });
});
