/**
 * The LEGO classifier: an EfficientNet backbone with a shared Dense-BN-ReLU-Dropout
 * neck and two logit heads (`part_logits`, `color_logits`), or — option B — two
 * independent backbone+head branches in one model, one per task.
 */
import * as tf from '@tensorflow/tfjs';
import { efficientNetBackbone, type Backbone } from './efficientnet.ts';

export interface ClassifierConfig {
  inputSize: number;              // H = W of the input image
  widthCoefficient: number;       // 1.0 = B0
  depthCoefficient: number;       // 1.0 = B0
  dropConnectRate: number;        // Keras: 0.2
  /** BatchNorm momentum everywhere (Keras: 0.99). */
  bnMomentum?: number;
  headUnits: number;              // the plan: 512
  headDropout: number;            // the plan: 0.3
  nParts: number;
  nColors: number;
  /** 'multitask' = option A (one shared backbone), 'two_models' = option B. */
  architecture: 'multitask' | 'two_models';
  /**
   * Option B: the part model sees its input in grayscale (the plan's grayscale augmentation
   * at probability 1, so the part model cannot lean on color); a fixed layer, kept in export.
   */
  partGrayscale?: boolean;
}

// ITU-R BT.601 luma weights, and the ImageNet normalisation the input already carries.
const LUMA = [0.299, 0.587, 0.114];
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/**
 * A frozen 1x1 convolution that turns a normalised RGB image into its normalised gray
 * version: with p_c = n_c·std_c + mean_c and g = Σ luma_c·p_c, each output channel is
 * (g - mean_o)/std_o, i.e. kernel[c][o] = luma_c·std_c/std_o, bias[o] = (Σ luma_c·mean_c - mean_o)/std_o.
 */
function grayscale(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  const kernel = tf.tensor4d(LUMA.flatMap((l, c) => STD.map((so) => (l * STD[c]!) / so)), [1, 1, 3, 3]);
  const grayMean = LUMA.reduce((s, l, c) => s + l * MEAN[c]!, 0);
  const bias = tf.tensor1d(MEAN.map((m, o) => (grayMean - m) / STD[o]!));
  const layer = tf.layers.conv2d({ filters: 3, kernelSize: 1, useBias: true, trainable: false, weights: [kernel, bias], name });
  return layer.apply(x) as tf.SymbolicTensor; // [b, H, W, 3], the three channels equal in pixel space
}

export interface Classifier {
  model: tf.LayersModel;          // input [b, H, W, 3] -> [part_logits, color_logits]
  /** One backbone for option A; option B has the part branch first, then the color branch. */
  backbones: Backbone[];
}

/** Dense 512 + BN + ReLU + Dropout on pooled features, then one logits layer per head. */
function neck(x: tf.SymbolicTensor, cfg: ClassifierConfig, p: string): tf.SymbolicTensor {
  let h = tf.layers.globalAveragePooling2d({ name: `${p}avg_pool` }).apply(x) as tf.SymbolicTensor; // [b, c]
  h = tf.layers.dense({ units: cfg.headUnits, kernelInitializer: 'glorotUniform', name: `${p}head_dense` }).apply(h) as tf.SymbolicTensor; // [b, 512]
  h = tf.layers.batchNormalization({ epsilon: 1e-3, momentum: cfg.bnMomentum ?? 0.99, name: `${p}head_bn` }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.activation({ activation: 'relu', name: `${p}head_relu` }).apply(h) as tf.SymbolicTensor;
  return tf.layers.dropout({ rate: cfg.headDropout, name: `${p}head_dropout` }).apply(h) as tf.SymbolicTensor;
}

function logits(h: tf.SymbolicTensor, units: number, name: string): tf.SymbolicTensor {
  return tf.layers.dense({ units, name }).apply(h) as tf.SymbolicTensor; // [b, units], no softmax
}

/** Build the classifier; weights are freshly initialised (pretrained import is separate). */
export function buildClassifier(cfg: ClassifierConfig): Classifier {
  const input = tf.input({ shape: [cfg.inputSize, cfg.inputSize, 3], name: 'image' });
  const bb = { widthCoefficient: cfg.widthCoefficient, depthCoefficient: cfg.depthCoefficient, dropConnectRate: cfg.dropConnectRate, bnMomentum: cfg.bnMomentum };
  if (cfg.architecture === 'two_models') {
    // Option B: no shared weights; each branch's Keras names get a 'part_' / 'color_' prefix.
    const partInput = cfg.partGrayscale ? grayscale(input, 'part_grayscale') : input;
    const partBackbone = efficientNetBackbone(partInput, { ...bb, namePrefix: 'part_' });
    const colorBackbone = efficientNetBackbone(input, { ...bb, namePrefix: 'color_' });
    const part = logits(neck(partBackbone.output, cfg, 'part_'), cfg.nParts, 'part_logits');
    const color = logits(neck(colorBackbone.output, cfg, 'color_'), cfg.nColors, 'color_logits');
    return { model: tf.model({ inputs: input, outputs: [part, color], name: 'brickflow_two_models' }), backbones: [partBackbone, colorBackbone] };
  }
  const backbone = efficientNetBackbone(input, bb);
  const h = neck(backbone.output, cfg, '');
  const part = logits(h, cfg.nParts, 'part_logits');
  const color = logits(h, cfg.nColors, 'color_logits');
  return { model: tf.model({ inputs: input, outputs: [part, color], name: 'brickflow_efficientnet' }), backbones: [backbone] };
}

/** Count the weights of the layers whose name satisfies `keep` (all layers by default). */
export function countParams(model: tf.LayersModel, keep: (layerName: string) => boolean = () => true): number {
  let n = 0;
  for (const layer of model.layers) {
    if (!keep(layer.name)) continue;
    n += layer.countParams();
  }
  return n;
}
