/**
 * A stand-in for the real classifier while src/ml/model/classifier.ts is being written:
 * Keras' EfficientNetB0 layer for layer (ZeroPadding2D + 'valid' stride-2 depthwise,
 * swish, BatchNorm, squeeze-excite with Reshape + Multiply, Add, Dropout) with the
 * plan's two heads, so the benchmark and the kernel tests exercise every kernel B0 uses.
 */
import * as tf from '@tensorflow/tfjs';

export interface StandInConfig {
  inputSize: number;
  nParts: number;
  nColors: number;
  widthMultiplier?: number;
  depthMultiplier?: number;
  /** Only build the first `maxBlocks` MBConv blocks (tiny models for tests). */
  maxBlocks?: number;
  /** Dropout before each residual add (Keras: 0.2) and after the head (the plan: 0.3); 0 makes a step deterministic. */
  dropConnectRate?: number;
  headDropout?: number;
}

// kernel, repeats, filtersIn, filtersOut, expandRatio, stride (Keras' DEFAULT_BLOCKS_ARGS; se 0.25)
const B0_BLOCKS: [number, number, number, number, number, number][] = [
  [3, 1, 32, 16, 1, 1],
  [3, 2, 16, 24, 6, 2],
  [5, 2, 24, 40, 6, 2],
  [3, 3, 40, 80, 6, 2],
  [5, 3, 80, 112, 6, 1],
  [5, 4, 112, 192, 6, 2],
  [3, 1, 192, 320, 6, 1],
];

function roundFilters(filters: number, width: number): number {
  const divisor = 8;
  const f = filters * width;
  let n = Math.max(divisor, Math.floor((f + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * f) n += divisor;
  return n;
}

/** Keras' correct_pad: the asymmetric zero padding that makes a 'valid' stride-2 conv match TF 'same'. */
function correctPad(size: number, kernel: number): [[number, number], [number, number]] {
  const adjust = 1 - (size % 2);
  const c = Math.floor(kernel / 2);
  return [
    [c - adjust, c],
    [c - adjust, c],
  ];
}

function swish(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return tf.layers.activation({ activation: 'swish', name }).apply(x) as tf.SymbolicTensor;
}

function bn(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return tf.layers.batchNormalization({ axis: 3, name }).apply(x) as tf.SymbolicTensor;
}

/** One MBConv block: expand 1x1, depthwise kxk, squeeze-excite, project 1x1, residual. */
function mbConvBlock(
  x: tf.SymbolicTensor,
  size: number,
  k: number,
  fin: number,
  fout: number,
  expand: number,
  stride: number,
  name: string,
  dropRate: number,
): tf.SymbolicTensor {
  const filters = fin * expand;
  let h = x;
  if (expand !== 1) {
    h = tf.layers.conv2d({ filters, kernelSize: 1, padding: 'same', useBias: false, name: `${name}expand_conv` }).apply(h) as tf.SymbolicTensor;
    h = swish(bn(h, `${name}expand_bn`), `${name}expand_activation`);
  }
  if (stride === 2) {
    h = tf.layers.zeroPadding2d({ padding: correctPad(size, k), name: `${name}dwconv_pad` }).apply(h) as tf.SymbolicTensor;
  }
  h = tf.layers
    .depthwiseConv2d({ kernelSize: k, strides: stride, padding: stride === 2 ? 'valid' : 'same', useBias: false, name: `${name}dwconv` })
    .apply(h) as tf.SymbolicTensor;
  h = swish(bn(h, `${name}bn`), `${name}activation`);
  // squeeze-excite: [b,h,w,c] -> [b,c] -> [b,1,1,c] -> gates [b,1,1,c]
  const se0 = Math.max(1, Math.floor(fin * 0.25));
  let se = tf.layers.globalAveragePooling2d({ name: `${name}se_squeeze` }).apply(h) as tf.SymbolicTensor;
  se = tf.layers.reshape({ targetShape: [1, 1, filters], name: `${name}se_reshape` }).apply(se) as tf.SymbolicTensor;
  se = tf.layers.conv2d({ filters: se0, kernelSize: 1, padding: 'same', activation: 'swish', name: `${name}se_reduce` }).apply(se) as tf.SymbolicTensor;
  se = tf.layers.conv2d({ filters, kernelSize: 1, padding: 'same', activation: 'sigmoid', name: `${name}se_expand` }).apply(se) as tf.SymbolicTensor;
  h = tf.layers.multiply({ name: `${name}se_excite` }).apply([h, se]) as tf.SymbolicTensor;
  h = tf.layers.conv2d({ filters: fout, kernelSize: 1, padding: 'same', useBias: false, name: `${name}project_conv` }).apply(h) as tf.SymbolicTensor;
  h = bn(h, `${name}project_bn`);
  if (stride === 1 && fin === fout) {
    h = tf.layers.dropout({ rate: dropRate, noiseShape: [null, 1, 1, 1] as unknown as number[], name: `${name}drop` }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.add({ name: `${name}add` }).apply([h, x]) as tf.SymbolicTensor;
  }
  return h;
}

/** Builds the stand-in: outputs [part_logits, color_logits]. */
export function buildStandInClassifier(cfg: StandInConfig): tf.LayersModel {
  const width = cfg.widthMultiplier ?? 1;
  const depth = cfg.depthMultiplier ?? 1;
  let size = cfg.inputSize;
  const input = tf.input({ shape: [size, size, 3], name: 'image' });
  let x = tf.layers.zeroPadding2d({ padding: correctPad(size, 3), name: 'stem_conv_pad' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers
    .conv2d({ filters: roundFilters(32, width), kernelSize: 3, strides: 2, padding: 'valid', useBias: false, name: 'stem_conv' })
    .apply(x) as tf.SymbolicTensor;
  x = swish(bn(x, 'stem_bn'), 'stem_activation');
  size = Math.ceil(size / 2);
  let built = 0;
  let channels = roundFilters(32, width);
  outer: for (let s = 0; s < B0_BLOCKS.length; s++) {
    const [k, repeats, fin0, fout0, e, stride0] = B0_BLOCKS[s]!;
    const fout = roundFilters(fout0, width);
    const reps = Math.ceil(depth * repeats);
    for (let r = 0; r < reps; r++) {
      if (cfg.maxBlocks !== undefined && built >= cfg.maxBlocks) break outer;
      const stride = r === 0 ? stride0 : 1;
      const fin = r === 0 ? roundFilters(fin0, width) : fout;
      x = mbConvBlock(x, size, k, fin, fout, e, stride, `block${s + 1}${String.fromCharCode(97 + r)}_`, cfg.dropConnectRate ?? 0.2);
      if (stride === 2) size = Math.ceil(size / 2);
      channels = fout;
      built++;
    }
  }
  void channels;
  x = tf.layers.conv2d({ filters: roundFilters(1280, width), kernelSize: 1, padding: 'same', useBias: false, name: 'top_conv' }).apply(x) as tf.SymbolicTensor;
  x = swish(bn(x, 'top_bn'), 'top_activation');
  x = tf.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x) as tf.SymbolicTensor;
  let h = tf.layers.dense({ units: 512, name: 'head_dense' }).apply(x) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization({ name: 'head_bn' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.activation({ activation: 'relu', name: 'head_relu' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.dropout({ rate: cfg.headDropout ?? 0.3, name: 'head_dropout' }).apply(h) as tf.SymbolicTensor;
  const part = tf.layers.dense({ units: cfg.nParts, name: 'part_logits' }).apply(h) as tf.SymbolicTensor;
  const color = tf.layers.dense({ units: cfg.nColors, name: 'color_logits' }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: [part, color], name: 'brickflow_standin_b0' });
}
