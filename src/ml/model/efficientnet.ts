/**
 * The EfficientNet backbone, built layer for layer like Keras' `EfficientNetB0`
 * (include_top=False) so every Keras weight has exactly one home here.
 *
 * Input normalisation: Keras' model takes pixels in 0..255 and starts with
 * `rescaling` (1/255) and `normalization` (ImageNet mean, variance = std²) layers.
 * brickflow's model input is already `(pixel/255 - mean)/std` (src/ml/preprocess.ts),
 * i.e. exactly the output of Keras' `normalization` layer, so those two layers (which
 * hold no trainable weights; only the fixed mean/variance/count) are left out here.
 * A Keras-weights importer maps everything from `stem_conv` onwards and may check the
 * file's normalization mean/variance against ImageNet's instead of loading them.
 */
import * as tf from '@tensorflow/tfjs';

/** One row of B0's stage table (Keras' DEFAULT_BLOCKS_ARGS). */
export interface BlockArgs {
  kernelSize: number;
  repeats: number;
  filtersIn: number;
  filtersOut: number;
  expandRatio: number;
  strides: number;
  seRatio: number;
}

export const B0_BLOCKS: readonly BlockArgs[] = [
  { kernelSize: 3, repeats: 1, filtersIn: 32, filtersOut: 16, expandRatio: 1, strides: 1, seRatio: 0.25 },
  { kernelSize: 3, repeats: 2, filtersIn: 16, filtersOut: 24, expandRatio: 6, strides: 2, seRatio: 0.25 },
  { kernelSize: 5, repeats: 2, filtersIn: 24, filtersOut: 40, expandRatio: 6, strides: 2, seRatio: 0.25 },
  { kernelSize: 3, repeats: 3, filtersIn: 40, filtersOut: 80, expandRatio: 6, strides: 2, seRatio: 0.25 },
  { kernelSize: 5, repeats: 3, filtersIn: 80, filtersOut: 112, expandRatio: 6, strides: 1, seRatio: 0.25 },
  { kernelSize: 5, repeats: 4, filtersIn: 112, filtersOut: 192, expandRatio: 6, strides: 2, seRatio: 0.25 },
  { kernelSize: 3, repeats: 1, filtersIn: 192, filtersOut: 320, expandRatio: 6, strides: 1, seRatio: 0.25 },
];

export interface EfficientNetConfig {
  widthCoefficient: number;   // 1.0 for B0
  depthCoefficient: number;   // 1.0 for B0
  dropConnectRate: number;    // 0.2 in Keras (stochastic depth, scaled by block index)
  /** BatchNorm moving-average momentum: Keras' 0.99; short CPU runs need less (e.g. 0.9) so moving stats catch up. */
  bnMomentum?: number;
  /** Prefix for every layer name (empty for the Keras names; used by option B's two branches). */
  namePrefix?: string;
}

/** What the backbone built: its output and the names of its blocks in order. */
export interface Backbone {
  output: tf.SymbolicTensor;           // [batch, h/32, w/32, round_filters(1280)]
  /** Per block, in order: its name prefix ('block1a_') and its layer names. */
  blocks: { name: string; layers: string[] }[];
  stemLayers: string[];
  topLayers: string[];
}

const BN_EPSILON = 1e-3; // Keras' BatchNormalization default, which EfficientNet keeps.

/** Keras' round_filters: scale by width and round to a multiple of 8, never down by more than 10%. */
export function roundFilters(filters: number, width: number, divisor = 8): number {
  const scaled = filters * width;
  let rounded = Math.max(divisor, Math.floor((scaled + divisor / 2) / divisor) * divisor);
  if (rounded < 0.9 * scaled) rounded += divisor;
  return rounded;
}

/** Keras' round_repeats: scale a stage's block count by depth, rounding up. */
export function roundRepeats(repeats: number, depth: number): number {
  return Math.ceil(depth * repeats);
}

/** Keras' correct_pad: asymmetric zero padding so a stride-2 'valid' conv matches TF's 'same'. */
function correctPad(size: number | null, kernel: number): [number, number] {
  const adjust = size == null ? 1 : 1 - (size % 2);
  const half = Math.floor(kernel / 2);
  return [half - adjust, half];
}

// Keras' initialisers: conv kernels variance-scaling(2, fan_out, normal); dense (1/3, fan_out, uniform).
const convInit = () => tf.initializers.varianceScaling({ scale: 2.0, mode: 'fanOut', distribution: 'truncatedNormal' });

/** Squeeze-and-excitation: channel weights from global context, multiplied back in. */
export function squeezeExcite(x: tf.SymbolicTensor, filters: number, filtersSe: number, prefix: string, names: string[]): tf.SymbolicTensor {
  const add = (n: string) => { names.push(n); return n; };
  let se = tf.layers.globalAveragePooling2d({ name: add(`${prefix}se_squeeze`) }).apply(x) as tf.SymbolicTensor; // [b, filters]
  se = tf.layers.reshape({ targetShape: [1, 1, filters], name: add(`${prefix}se_reshape`) }).apply(se) as tf.SymbolicTensor; // [b,1,1,filters]
  se = tf.layers.conv2d({ filters: filtersSe, kernelSize: 1, padding: 'same', activation: 'swish', kernelInitializer: convInit(), name: add(`${prefix}se_reduce`) }).apply(se) as tf.SymbolicTensor;
  se = tf.layers.conv2d({ filters, kernelSize: 1, padding: 'same', activation: 'sigmoid', kernelInitializer: convInit(), name: add(`${prefix}se_expand`) }).apply(se) as tf.SymbolicTensor;
  return tf.layers.multiply({ name: add(`${prefix}se_excite`) }).apply([x, se]) as tf.SymbolicTensor;
}

/** One MBConv block (Keras' `block`): expand 1x1, depthwise kxk, SE, project 1x1, residual. */
export function mbConvBlock(
  x: tf.SymbolicTensor,
  a: BlockArgs & { dropRate: number; bnMomentum: number },
  prefix: string,
): { output: tf.SymbolicTensor; layers: string[] } {
  const names: string[] = [];
  const add = (n: string) => { names.push(n); return n; };
  const bnMomentum = a.bnMomentum;
  const inputs = x;
  const filters = a.filtersIn * a.expandRatio;
  if (a.expandRatio !== 1) {
    x = tf.layers.conv2d({ filters, kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: convInit(), name: add(`${prefix}expand_conv`) }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ axis: 3, epsilon: BN_EPSILON, momentum: bnMomentum, name: add(`${prefix}expand_bn`) }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.activation({ activation: 'swish', name: add(`${prefix}expand_activation`) }).apply(x) as tf.SymbolicTensor;
  }
  let padding: 'same' | 'valid' = 'same';
  if (a.strides === 2) {
    const h = x.shape[1] ?? null;
    const w = x.shape[2] ?? null;
    x = tf.layers.zeroPadding2d({ padding: [correctPad(h, a.kernelSize), correctPad(w, a.kernelSize)], name: add(`${prefix}dwconv_pad`) }).apply(x) as tf.SymbolicTensor;
    padding = 'valid';
  }
  // [b, h, w, filters] -> [b, h/strides, w/strides, filters]
  x = tf.layers.depthwiseConv2d({ kernelSize: a.kernelSize, strides: a.strides, padding, useBias: false, depthwiseInitializer: convInit(), name: add(`${prefix}dwconv`) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ axis: 3, epsilon: BN_EPSILON, momentum: bnMomentum, name: add(`${prefix}bn`) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'swish', name: add(`${prefix}activation`) }).apply(x) as tf.SymbolicTensor;
  if (a.seRatio > 0 && a.seRatio <= 1) {
    const filtersSe = Math.max(1, Math.floor(a.filtersIn * a.seRatio));
    x = squeezeExcite(x, filters, filtersSe, prefix, names);
  }
  // [b, h', w', filters] -> [b, h', w', filtersOut]
  x = tf.layers.conv2d({ filters: a.filtersOut, kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: convInit(), name: add(`${prefix}project_conv`) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ axis: 3, epsilon: BN_EPSILON, momentum: bnMomentum, name: add(`${prefix}project_bn`) }).apply(x) as tf.SymbolicTensor;
  if (a.strides === 1 && a.filtersIn === a.filtersOut) {
    if (a.dropRate > 0) {
      // Stochastic depth: drop the whole residual branch per sample.
      x = tf.layers.dropout({ rate: a.dropRate, noiseShape: [null, 1, 1, 1] as unknown as number[], name: add(`${prefix}drop`) }).apply(x) as tf.SymbolicTensor;
    }
    x = tf.layers.add({ name: add(`${prefix}add`) }).apply([x, inputs]) as tf.SymbolicTensor;
  }
  return { output: x, layers: names };
}

/** Build the backbone on `input` ([b, H, W, 3], already ImageNet-normalised). */
export function efficientNetBackbone(input: tf.SymbolicTensor, cfg: EfficientNetConfig): Backbone {
  const p = cfg.namePrefix ?? '';
  const bnMomentum = cfg.bnMomentum ?? 0.99;
  const stemLayers = [`${p}stem_conv_pad`, `${p}stem_conv`, `${p}stem_bn`, `${p}stem_activation`];
  const h = input.shape[1] ?? null;
  const w = input.shape[2] ?? null;
  // [b, H, W, 3] -> [b, H/2, W/2, round_filters(32)]
  let x = tf.layers.zeroPadding2d({ padding: [correctPad(h, 3), correctPad(w, 3)], name: stemLayers[0] }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: roundFilters(32, cfg.widthCoefficient), kernelSize: 3, strides: 2, padding: 'valid', useBias: false, kernelInitializer: convInit(), name: stemLayers[1] }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ axis: 3, epsilon: BN_EPSILON, momentum: bnMomentum, name: stemLayers[2] }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'swish', name: stemLayers[3] }).apply(x) as tf.SymbolicTensor;

  const totalBlocks = B0_BLOCKS.reduce((s, a) => s + roundRepeats(a.repeats, cfg.depthCoefficient), 0);
  const blocks: Backbone['blocks'] = [];
  let b = 0;
  B0_BLOCKS.forEach((stage, i) => {
    const filtersOut = roundFilters(stage.filtersOut, cfg.widthCoefficient);
    let filtersIn = roundFilters(stage.filtersIn, cfg.widthCoefficient);
    let strides = stage.strides;
    const repeats = roundRepeats(stage.repeats, cfg.depthCoefficient);
    for (let j = 0; j < repeats; j++) {
      if (j > 0) { strides = 1; filtersIn = filtersOut; }
      const name = `${p}block${i + 1}${String.fromCharCode(97 + j)}_`;
      const built = mbConvBlock(x, { ...stage, filtersIn, filtersOut, strides, dropRate: (cfg.dropConnectRate * b) / totalBlocks, bnMomentum }, name);
      x = built.output;
      blocks.push({ name, layers: built.layers });
      b++;
    }
  });

  const topLayers = [`${p}top_conv`, `${p}top_bn`, `${p}top_activation`];
  // [b, h, w, c] -> [b, h, w, round_filters(1280)]
  x = tf.layers.conv2d({ filters: roundFilters(1280, cfg.widthCoefficient), kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: convInit(), name: topLayers[0] }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ axis: 3, epsilon: BN_EPSILON, momentum: bnMomentum, name: topLayers[1] }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'swish', name: topLayers[2] }).apply(x) as tf.SymbolicTensor;
  return { output: x, blocks, stemLayers, topLayers };
}
