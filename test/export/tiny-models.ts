// Tiny tfjs models with random weights, one per layer type, plus an EfficientNet-like one, for exporter tests.
import * as tf from '@tensorflow/tfjs';

/** Gives every BatchNormalization non-trivial statistics, so folding is really exercised. */
export function randomizeBatchNorms(model: tf.LayersModel, seed = 1): void {
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const next = layer.getWeights().map((w, i) => {
      const n = w.size;
      const vals = Float32Array.from({ length: n }, () => rand());
      const role = layer.weights[i].originalName;
      if (role.endsWith('moving_variance')) return tf.tensor(vals.map((v) => 0.5 + v), w.shape);
      if (role.endsWith('gamma')) return tf.tensor(vals.map((v) => 0.5 + v), w.shape);
      return tf.tensor(vals.map((v) => v - 0.5), w.shape);
    });
    layer.setWeights(next);
  }
}

/** input -> layer(s) -> output, with a small image input. */
export function singleLayerModel(size: number, channels: number, build: (x: tf.SymbolicTensor) => tf.SymbolicTensor | tf.SymbolicTensor[]): tf.LayersModel {
  const input = tf.input({ shape: [size, size, channels], name: 'input_image' });
  const out = build(input);
  return tf.model({ inputs: input, outputs: out });
}

function mbConvBlock(x: tf.SymbolicTensor, name: string, inC: number, outC: number, expand: number, kernel: number, stride: number): tf.SymbolicTensor {
  let h = x;
  const mid = inC * expand;
  if (expand !== 1) {
    h = tf.layers.conv2d({ filters: mid, kernelSize: 1, padding: 'same', useBias: false, name: `${name}_expand_conv` }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.batchNormalization({ name: `${name}_expand_bn` }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.activation({ activation: 'swish', name: `${name}_expand_activation` }).apply(h) as tf.SymbolicTensor;
  }
  if (stride === 2) {
    h = tf.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]], name: `${name}_dwconv_pad` }).apply(h) as tf.SymbolicTensor;
  }
  h = tf.layers.depthwiseConv2d({ kernelSize: kernel, strides: stride, padding: stride === 2 ? 'valid' : 'same', useBias: false, name: `${name}_dwconv` }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization({ name: `${name}_bn` }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.activation({ activation: 'swish', name: `${name}_activation` }).apply(h) as tf.SymbolicTensor;
  // squeeze-excite
  const squeezed = Math.max(1, Math.floor(inC / 4));
  let se = tf.layers.globalAveragePooling2d({ name: `${name}_se_squeeze` }).apply(h) as tf.SymbolicTensor;
  se = tf.layers.reshape({ targetShape: [1, 1, mid], name: `${name}_se_reshape` }).apply(se) as tf.SymbolicTensor;
  se = tf.layers.conv2d({ filters: squeezed, kernelSize: 1, padding: 'same', activation: 'swish', name: `${name}_se_reduce` }).apply(se) as tf.SymbolicTensor;
  se = tf.layers.conv2d({ filters: mid, kernelSize: 1, padding: 'same', activation: 'sigmoid', name: `${name}_se_expand` }).apply(se) as tf.SymbolicTensor;
  h = tf.layers.multiply({ name: `${name}_se_excite` }).apply([h, se]) as tf.SymbolicTensor;
  h = tf.layers.conv2d({ filters: outC, kernelSize: 1, padding: 'same', useBias: false, name: `${name}_project_conv` }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization({ name: `${name}_project_bn` }).apply(h) as tf.SymbolicTensor;
  if (stride === 1 && inC === outC) {
    h = tf.layers.dropout({ rate: 0.2, name: `${name}_drop` }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.add({ name: `${name}_add` }).apply([h, x]) as tf.SymbolicTensor;
  }
  return h;
}

/** A small EfficientNet-shaped two-head classifier with Keras layer names and random weights. */
export function efficientNetLike(size = 32, nParts = 7, nColors = 5): tf.LayersModel {
  const input = tf.input({ shape: [size, size, 3], name: 'input_1' });
  let x = tf.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]], name: 'stem_conv_pad' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', useBias: false, name: 'stem_conv' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'stem_bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'swish', name: 'stem_activation' }).apply(x) as tf.SymbolicTensor;
  x = mbConvBlock(x, 'block1a', 8, 8, 1, 3, 1);
  x = mbConvBlock(x, 'block2a', 8, 12, 4, 3, 2);
  x = mbConvBlock(x, 'block2b', 12, 12, 4, 5, 1);
  x = tf.layers.conv2d({ filters: 32, kernelSize: 1, padding: 'same', useBias: false, name: 'top_conv' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'top_bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'swish', name: 'top_activation' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 16, name: 'head_dense' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'head_bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'relu', name: 'head_relu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.3, name: 'head_dropout' }).apply(x) as tf.SymbolicTensor;
  const part = tf.layers.dense({ units: nParts, name: 'part_logits' }).apply(x) as tf.SymbolicTensor;
  const color = tf.layers.dense({ units: nColors, name: 'color_logits' }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: [part, color], name: 'efficientnet_like' });
  randomizeBatchNorms(model);
  return model;
}
