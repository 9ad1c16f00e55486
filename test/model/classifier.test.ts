import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildClassifier, countParams, type ClassifierConfig } from '../../src/ml/model/classifier.ts';
import { freezeLayers, layersToFreeze } from '../../src/ml/model/freezing.ts';
import { loadModel, saveModel } from '../../src/ml/model/model-io.ts';

const HEAD_LAYERS = new Set(['image', 'avg_pool', 'head_dense', 'head_bn', 'head_relu', 'head_dropout', 'part_logits', 'color_logits']);
const B0: ClassifierConfig = { inputSize: 224, widthCoefficient: 1, depthCoefficient: 1, dropConnectRate: 0.2, headUnits: 512, headDropout: 0.3, nParts: 200, nColors: 22, architecture: 'multitask' };
const TINY: ClassifierConfig = { ...B0, inputSize: 16, widthCoefficient: 0.25, depthCoefficient: 0.2, headUnits: 16, nParts: 4, nColors: 3, bnMomentum: 0.5 };

beforeAll(async () => { await tf.setBackend('cpu'); });

describe('EfficientNet-B0 classifier', () => {
  it('true B0 backbone has the 4,049,564 weights of Keras EfficientNetB0 notop (4,049,571 minus its normalization layer)', () => {
    const { model } = buildClassifier(B0);
    expect(countParams(model, (n) => !HEAD_LAYERS.has(n))).toBe(4_049_564);
    // heads: dense 1280x512+512, BN 4x512, part 512x200+200, color 512x22+22
    expect(model.countParams()).toBe(4_049_564 + 1280 * 512 + 512 + 4 * 512 + 512 * 200 + 200 + 512 * 22 + 22);
    model.dispose();
  });

  it('outputs part_logits then color_logits with the head sizes', () => {
    const { model } = buildClassifier(B0);
    expect(model.outputNames).toEqual(['part_logits', 'color_logits']);
    expect(model.outputs.map((o) => o.shape)).toEqual([[null, 200], [null, 22]]);
    expect(model.getLayer('top_conv').outputShape).toEqual([null, 7, 7, 1280]);
    model.dispose();
  });

  it('names and orders layers as Keras does, with zero padding before each stride-2 valid conv', () => {
    const { model, backbones } = buildClassifier(B0);
    const names = model.layers.map((l) => l.name);
    expect(names.slice(1, 16)).toEqual([
      'stem_conv_pad', 'stem_conv', 'stem_bn', 'stem_activation',
      'block1a_dwconv', 'block1a_bn', 'block1a_activation', 'block1a_se_squeeze', 'block1a_se_reshape',
      'block1a_se_reduce', 'block1a_se_expand', 'block1a_se_excite', 'block1a_project_conv', 'block1a_project_bn',
      'block2a_expand_conv',
    ]);
    expect(backbones[0]!.blocks.map((b) => b.name).join(' ')).toBe(
      'block1a_ block2a_ block2b_ block3a_ block3b_ block4a_ block4b_ block4c_ block5a_ block5b_ block5c_ block6a_ block6b_ block6c_ block6d_ block7a_');
    expect(names).toContain('block2b_drop');
    expect(names).toContain('block2b_add');
    expect(names.indexOf('block2a_dwconv_pad')).toBe(names.indexOf('block2a_dwconv') - 1);
    expect(names).not.toContain('block5a_dwconv_pad'); // stride 1
    expect(names.slice(-10)).toEqual(['top_conv', 'top_bn', 'top_activation', 'avg_pool', 'head_dense', 'head_bn', 'head_relu', 'head_dropout', 'part_logits', 'color_logits']);
    const dw = model.getLayer('block2a_dwconv').getConfig();
    expect([dw['strides'], dw['padding']]).toEqual([[2, 2], 'valid']);
    expect(model.getLayer('block3b_bn').getConfig()['epsilon']).toBe(1e-3);
    expect(model.getLayer('block1a_se_reduce').getWeights()[0]!.shape).toEqual([1, 1, 32, 8]);
    model.dispose();
  });

  it('width and depth multipliers shrink the backbone the way Keras rounds them', () => {
    const { model, backbones } = buildClassifier({ ...B0, inputSize: 64, widthCoefficient: 0.5, depthCoefficient: 0.5 });
    expect(backbones[0]!.blocks).toHaveLength(1 + 1 + 1 + 2 + 2 + 2 + 1);
    expect(model.getLayer('stem_conv').getWeights()[0]!.shape).toEqual([3, 3, 3, 16]);
    expect(model.getLayer('top_conv').outputShape).toEqual([null, 2, 2, 640]);
    model.dispose();
  });

  it('option B builds two independent prefixed branches with the same two outputs', () => {
    const { model, backbones } = buildClassifier({ ...TINY, architecture: 'two_models' });
    expect(backbones).toHaveLength(2);
    expect(model.outputNames).toEqual(['part_logits', 'color_logits']);
    const names = model.layers.map((l) => l.name);
    expect(names).toContain('part_stem_conv');
    expect(names).toContain('color_top_bn');
    expect(names).toContain('color_head_dense');
    model.dispose();
  });

  it('option B with part_grayscale: the part model gives the same logits for colors of equal luma', () => {
    const { model } = buildClassifier({ ...TINY, architecture: 'two_models', partGrayscale: true });
    // Normalised images of two colors with the same BT.601 luma (≈ 0.5): reddish and bluish.
    const norm = (rgb: number[]) => tf.tensor4d(Array.from({ length: 16 * 16 }, () => rgb.map((p, c) => (p - [0.485, 0.456, 0.406][c]!) / [0.229, 0.224, 0.225][c]!)).flat(), [1, 16, 16, 3]);
    const reddish = [0.8, 0.4, 0.2];
    const luma = 0.299 * 0.8 + 0.587 * 0.4 + 0.114 * 0.2;
    const bluish = [0.2, (luma - 0.299 * 0.2 - 0.114 * 0.9) / 0.587, 0.9];
    const gray = tf.model({ inputs: model.inputs, outputs: model.getLayer('part_grayscale').output as tf.SymbolicTensor });
    const g = (gray.predict(norm(reddish)) as tf.Tensor).dataSync();
    expect(Array.from(g.slice(0, 3))).toEqual([0, 1, 2].map((c) => expect.closeTo((luma - [0.485, 0.456, 0.406][c]!) / [0.229, 0.224, 0.225][c]!, 5)));
    const [partA, colorA] = (model.predict(norm(reddish)) as tf.Tensor[]).map((t) => Array.from(t.dataSync()));
    const [partB, colorB] = (model.predict(norm(bluish)) as tf.Tensor[]).map((t) => Array.from(t.dataSync()));
    partB!.forEach((v, i) => expect(v).toBeCloseTo(partA![i]!, 4));
    expect(colorB).not.toEqual(colorA); // the color model still sees color
    model.dispose();
  });

  it('frozen blocks keep weights and BatchNorm statistics bit-identical through a training step', () => {
    const { model, backbones } = buildClassifier(TINY);
    const frozen = layersToFreeze(backbones[0]!, 0.5);
    expect(frozen).toContain('stem_conv');
    expect(frozen).toContain('block1a_project_bn');
    expect(frozen).not.toContain('top_conv');
    freezeLayers(model, frozen);
    const snapshot = (names: string[]) => names.flatMap((n) => model.getLayer(n).getWeights().map((w) => Array.from(w.dataSync())));
    const before = snapshot(frozen);
    const unfrozenBefore = snapshot(['top_conv', 'top_bn']);
    const opt = tf.train.sgd(0.1);
    opt.minimize(() => {
      const [p] = model.apply(tf.randomNormal([4, 16, 16, 3]), { training: true }) as tf.Tensor[];
      return p!.square().mean() as tf.Scalar;
    }, false, model.trainableWeights.map((w) => w.read() as tf.Variable));
    expect(snapshot(frozen)).toEqual(before);
    expect(snapshot(['top_conv', 'top_bn'])).not.toEqual(unfrozenBefore);
    model.dispose();
  });

  it('saves to model.json + weights.bin and loads back to the same predictions', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bf-model-'));
    try {
      const { model } = buildClassifier(TINY);
      await saveModel(model, join(dir, 'model'));
      expect((await readdir(join(dir, 'model'))).sort()).toEqual(['model.json', 'weights.bin']);
      const loaded = await loadModel(join(dir, 'model'));
      const x = tf.randomNormal([2, 16, 16, 3]);
      const a = (model.predict(x) as tf.Tensor[]).map((t) => Array.from(t.dataSync()));
      const b = (loaded.predict(x) as tf.Tensor[]).map((t) => Array.from(t.dataSync()));
      expect(b).toEqual(a);
      expect(loaded.layers.map((l) => l.name)).toEqual(model.layers.map((l) => l.name));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
