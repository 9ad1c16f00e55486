/**
 * Registers, for the 'wasm' backend only, the gradient kernels tfjs-backend-wasm 4.22 lacks
 * (Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter/Input) so conv nets can train
 * on it, and a faster Conv2DBackpropInput for 1x1 convs. Kernels read and write the wasm
 * heap directly and hand the heavy arithmetic to the backend's own XNNPACK kernels where
 * a gradient can be phrased as a forward conv: filter gradients as a GEMM over pixels
 * (transpose or im2col, then Conv2D), depthwise input gradients as a depthwise conv with
 * the flipped filter. The depthwise filter gradient is one typed-array pass over dy
 * (no k x k strided slices). README.md in this folder has the measurements.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { installWasmFusedLayers } from './wasm-fused-layers.ts';
import { broadcastBatchNormGradConfig } from './batchnorm-gradient.ts';
import { broadcastMeanGradConfig } from './mean-gradient.ts';
import { simdKernels, type SimdKernels } from './simd-kernels.ts';

type Conv2DInfo = tf.backend_util.Conv2DInfo;
type NativeFn = (...args: number[]) => void;

/** The backend's own C entry points, bound once per backend instance. */
interface NativeKernels {
  conv3DBackpropFilter: NativeFn;
  depthwiseConv2d: NativeFn;
  conv2d: NativeFn;
}
const natives = new WeakMap<BackendWasm, NativeKernels>();

function nativeKernels(backend: BackendWasm): NativeKernels {
  let n = natives.get(backend);
  if (!n) {
    // cwrap's typing is Emscripten's; the C signatures are those of the backend's own kernels.
    const wasm = backend.wasm as unknown as { cwrap: (name: string, ret: null, args: string[]) => NativeFn };
    const cwrap = wasm.cwrap.bind(wasm);
    n = {
      conv3DBackpropFilter: cwrap('Conv3DBackpropFilterV2', null, new Array<string>(24).fill('number')),
      depthwiseConv2d: cwrap('DepthwiseConv2dNative', null, new Array<string>(19).fill('number')),
      conv2d: cwrap('Conv2D', null, new Array<string>(19).fill('number')),
    };
    natives.set(backend, n);
  }
  return n;
}

function id(backend: BackendWasm, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId)!.id;
}

function assertFloat32(kernel: string, ...ts: tf.TensorInfo[]): void {
  for (const t of ts) {
    if (t.dtype !== 'float32') throw new Error(`${kernel} on wasm: expected float32 input, got ${t.dtype}`);
  }
}

function assertChannelsLast(kernel: string, dataFormat: string | undefined): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`${kernel} on wasm supports NHWC only, got dataFormat ${dataFormat}`);
  }
}

// ---------------------------------------------------------------------------------------
// Conv2DBackpropFilter: dW[i,j,ci,co] = sum_{n,oh,ow} x[n, oh*s+i*d-pt, ow*s+j*d-pl, ci] * dy[n,oh,ow,co]

interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
  dilations?: [number, number] | number;
}

function conv2DBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: Conv2DBackpropFilterAttrs }): tf.TensorInfo {
  const { backend, attrs } = args;
  const x = args.inputs.x!;
  const dy = args.inputs.dy!;
  assertFloat32('Conv2DBackpropFilter', x, dy);
  assertChannelsLast('Conv2DBackpropFilter', attrs.dataFormat);
  const info: Conv2DInfo = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  if (isPointwise(info)) return conv2DBackpropFilterPointwise(backend, x, dy, info);
  const colsBytes = 4 * info.filterHeight * info.filterWidth * info.inChannels * info.batchSize * info.outHeight * info.outWidth;
  if (colsBytes <= IM2COL_MAX_BYTES) {
    const tall = tallIm2colShape(info);
    const simd = tall ? simdKernels(backend) : null;
    if (tall && simd) return conv2DBackpropFilterIm2colTall(backend, simd, x, dy, info, tall);
    return conv2DBackpropFilterIm2col(backend, x, dy, info);
  }
  if (info.strideHeight === 1 && info.strideWidth === 1) return conv2DBackpropFilterNative(backend, x, dy, info);
  return conv2DBackpropFilterLoop(backend, x, dy, info);
}

/** A 1x1, stride-1, unpadded conv: a matrix product over pixels, which XNNPACK's GEMM does fastest. */
function isPointwise(info: Conv2DInfo): boolean {
  return (
    info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1 &&
    info.padInfo.top === 0 && info.padInfo.left === 0 && info.padInfo.bottom === 0 && info.padInfo.right === 0
  );
}

/** out[c, r] = a[r, c] for a [rows, cols] tensor: SIMD 4 x 4 blocks when both are multiples of 4, else JS in cache-sized tiles. */
function transposeInto(backend: BackendWasm, aInfo: tf.TensorInfo, rows: number, cols: number, outInfo: tf.TensorInfo): void {
  const simd = rows % 4 === 0 && cols % 4 === 0 ? simdKernels(backend) : null;
  if (simd) {
    simd.fns.transpose(simd.ptr(aInfo), rows, cols, simd.ptr(outInfo));
    return;
  }
  const a = backend.typedArrayFromHeap(aInfo) as Float32Array;
  const out = backend.typedArrayFromHeap(outInfo) as Float32Array;
  const T = 32;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(rows, r0 + T);
    for (let c = 0; c < cols; c++) {
      const o = c * rows;
      for (let r = r0; r < r1; r++) out[o + r] = a[r * cols + c]!;
    }
  }
}

/** Runs the backend's native NHWC Conv2D (XNNPACK) on raw tensors, with 'valid' padding and stride 1. */
function nativeConv1x1(backend: BackendWasm, xInfo: tf.TensorInfo, xShape: number[], wInfo: tf.TensorInfo, cin: number, cout: number): tf.TensorInfo {
  const out = backend.makeOutput([xShape[0]!, xShape[1]!, xShape[2]!, cout], 'float32');
  nativeKernels(backend).conv2d(
    id(backend, xInfo), xShape[0]!, xShape[1]!, xShape[2]!,
    id(backend, wInfo), 1, 1,
    0, 0, 0, 0, 0,
    1, 1, 1, 1, cin, cout,
    id(backend, out),
  );
  return out;
}

/**
 * dW[ci, co] = sum_p x[p, ci] dy[p, co] over the P = N*H*W pixels, in the SIMD GEMM; for
 * channel counts it does not take, transpose the narrower of x and dy to [C, P] and run it
 * as a 1x1 conv whose "channels" are the pixels ([1, 1, C, P] conv [1, 1, P, C']), so
 * XNNPACK's GEMM does the contraction.
 */
function conv2DBackpropFilterPointwise(backend: BackendWasm, xInfo: tf.TensorInfo, dyInfo: tf.TensorInfo, info: Conv2DInfo): tf.TensorInfo {
  const P = info.batchSize * info.outHeight * info.outWidth;
  const CI = info.inChannels;
  const CO = info.outChannels;
  // x^T dy straight from the NHWC tensors, with no transpose and no XNNPACK packing of a
  // pixels-long "filter": ~30-38 GFLOP/s at 96 px for every layer's shape, where the
  // transpose + XNNPACK ran the few-pixel late layers at ~20-27 (measured in a step's
  // steady state; an earlier measurement that favoured XNNPACK there timed the first steps).
  const simd = CI % 4 === 0 && CO % 8 === 0 ? simdKernels(backend) : null;
  if (simd) {
    const dw = backend.makeOutput(info.filterShape, 'float32');
    simd.f32(simd.ptr(dw), CI * CO).fill(0);
    simd.fns.gemmAtB(simd.ptr(xInfo), simd.ptr(dyInfo), simd.ptr(dw), P, CI, CO);
    return dw;
  }
  const transposeX = CI <= CO; // move the fewer floats
  const [narrow, narrowC, wide, wideC] = transposeX ? [xInfo, CI, dyInfo, CO] : [dyInfo, CO, xInfo, CI];
  const t = backend.makeOutput([narrowC, P], 'float32');
  transposeInto(backend, narrow, P, narrowC, t);
  const prod = nativeConv1x1(backend, t, [1, 1, narrowC], wide, P, wideC); // [1, 1, narrowC, wideC]
  backend.disposeData(t.dataId);
  if (transposeX) {
    prod.shape = info.filterShape.slice();
    return prod;
  }
  const dw = backend.makeOutput(info.filterShape, 'float32'); // prod is dW^T [CO, CI]
  transposeInto(backend, prod, CO, CI, dw);
  backend.disposeData(prod.dataId);
  return dw;
}

/** Patch matrices above this size go to the slower paths that need no extra memory. */
const IM2COL_MAX_BYTES = 256 * 2 ** 20;

/**
 * Any kernel size and stride: write the transposed patch matrix cols^T [KH*KW*CI, P]
 * (zeros where a tap falls in the padding) and contract it with dy [P, CO] in XNNPACK's
 * GEMM, as for 1x1 convs. The product comes out in the filter's own [KH, KW, CI, CO] order.
 */
function conv2DBackpropFilterIm2col(backend: BackendWasm, xInfo: tf.TensorInfo, dyInfo: tf.TensorInfo, info: Conv2DInfo): tf.TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: SH, strideWidth: SW, dilationHeight: DH, dilationWidth: DW } = info;
  const PT = info.padInfo.top;
  const PL = info.padInfo.left;
  const P = N * OH * OW;
  const K = KH * KW * CI;
  const colsInfo = backend.makeOutput([K, P], 'float32');
  const cols = backend.typedArrayFromHeap(colsInfo) as Float32Array;
  const x = backend.typedArrayFromHeap(xInfo) as Float32Array;
  for (let i = 0; i < KH; i++) {
    for (let j = 0; j < KW; j++) {
      for (let ci = 0; ci < CI; ci++) {
        let o = ((i * KW + j) * CI + ci) * P;
        for (let n = 0; n < N; n++) {
          for (let oh = 0; oh < OH; oh++) {
            const ih = oh * SH + i * DH - PT;
            if (ih < 0 || ih >= H) {
              cols.fill(0, o, o + OW);
              o += OW;
              continue;
            }
            const rowBase = (n * H + ih) * W;
            for (let ow = 0; ow < OW; ow++, o++) {
              const iw = ow * SW + j * DW - PL;
              cols[o] = iw < 0 || iw >= W ? 0 : x[(rowBase + iw) * CI + ci]!;
            }
          }
        }
      }
    }
  }
  const dw = nativeConv1x1(backend, colsInfo, [1, 1, K], dyInfo, P, CO); // [1, 1, K, CO]
  backend.disposeData(colsInfo.dataId);
  dw.shape = info.filterShape.slice();
  return dw;
}

/**
 * The patch matrix's width rounded up to a multiple of 4, when there are many pixels per
 * weight and the SIMD x^T.dy GEMM can take it (CO a multiple of 8): the stem (3 input
 * channels, 27 taps, 36,864 pixels at 96 px), where the transposed patch matrix + XNNPACK
 * ran at ~4 GFLOP/s against ~30 for the 1x1 layers' GEMMs.
 */
function tallIm2colShape(info: Conv2DInfo): { K: number; K4: number } | null {
  const K = info.filterHeight * info.filterWidth * info.inChannels;
  const K4 = Math.ceil(K / 4) * 4;
  const P = info.batchSize * info.outHeight * info.outWidth;
  return info.outChannels % 8 === 0 && P >= 4 * Math.max(K4, info.outChannels) ? { K, K4 } : null;
}

/**
 * cols [P, K4] (each pixel's taps in the filter's [KH, KW, CI] order, zeros where a tap falls
 * in the padding and in the columns past K), then dW = cols^T . dy in the SIMD GEMM that
 * the 1x1 filter gradients use, straight from the pixel-major matrices.
 */
function conv2DBackpropFilterIm2colTall(backend: BackendWasm, simd: SimdKernels, xInfo: tf.TensorInfo, dyInfo: tf.TensorInfo, info: Conv2DInfo, { K, K4 }: { K: number; K4: number }): tf.TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: SH, strideWidth: SW, dilationHeight: DH, dilationWidth: DW } = info;
  const PT = info.padInfo.top;
  const PL = info.padInfo.left;
  const P = N * OH * OW;
  const colsInfo = backend.makeOutput([P, K4], 'float32');
  const dwInfo = backend.makeOutput(K4 === K ? info.filterShape : [K4, CO], 'float32');
  const cols = backend.typedArrayFromHeap(colsInfo) as Float32Array;
  const x = backend.typedArrayFromHeap(xInfo) as Float32Array;
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++, o += K4) {
        let c = o;
        for (let i = 0; i < KH; i++) {
          const ih = oh * SH + i * DH - PT;
          for (let j = 0; j < KW; j++) {
            const iw = ow * SW + j * DW - PL;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) {
              for (let ci = 0; ci < CI; ci++) cols[c++] = 0;
              continue;
            }
            const src = ((n * H + ih) * W + iw) * CI;
            for (let ci = 0; ci < CI; ci++) cols[c++] = x[src + ci]!;
          }
        }
        for (; c < o + K4; c++) cols[c] = 0;
      }
    }
  }
  simd.f32(simd.ptr(dwInfo), K4 * CO).fill(0);
  simd.fns.gemmAtB(simd.ptr(colsInfo), simd.ptr(dyInfo), simd.ptr(dwInfo), P, K4, CO);
  backend.disposeData(colsInfo.dataId);
  if (K4 === K) return dwInfo;
  const dw = backend.makeOutput(info.filterShape, 'float32');
  // The first K rows of [K4, CO] are dW in [KH, KW, CI, CO] order.
  simd.f32(simd.ptr(dw), K * CO).set(simd.f32(simd.ptr(dwInfo), K * CO));
  backend.disposeData(dwInfo.dataId);
  return dw;
}

/** Stride 1: the backend's native Conv3DBackpropFilterV2 at depth 1 (its stride > 1 path disagrees with the cpu backend). */
function conv2DBackpropFilterNative(backend: BackendWasm, x: tf.TensorInfo, dy: tf.TensorInfo, info: Conv2DInfo): tf.TensorInfo {
  const dw = backend.makeOutput(info.filterShape, 'float32');
  backend.typedArrayFromHeap(dw).fill(0);
  nativeKernels(backend).conv3DBackpropFilter(
    id(backend, x), id(backend, dy), id(backend, dw),
    info.batchSize, 1, info.inHeight, info.inWidth, info.inChannels,
    1, info.outHeight, info.outWidth, info.outChannels,
    1, info.strideHeight, info.strideWidth,
    1, info.dilationHeight, info.dilationWidth,
    1, info.filterHeight, info.filterWidth,
    0, info.padInfo.top, info.padInfo.left,
  );
  return dw;
}

/** Any stride: one pass over dy accumulating every tap, in f64. */
function conv2DBackpropFilterLoop(backend: BackendWasm, xInfo: tf.TensorInfo, dyInfo: tf.TensorInfo, info: Conv2DInfo): tf.TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: SH, strideWidth: SW, dilationHeight: DH, dilationWidth: DW } = info;
  const PT = info.padInfo.top;
  const PL = info.padInfo.left;
  const acc = new Float64Array(KH * KW * CI * CO);
  const dw = backend.makeOutput(info.filterShape, 'float32');
  const x = backend.typedArrayFromHeap(xInfo) as Float32Array;
  const dy = backend.typedArrayFromHeap(dyInfo) as Float32Array;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let i = 0; i < KH; i++) {
        const ih = oh * SH + i * DH - PT;
        if (ih < 0 || ih >= H) continue;
        for (let ow = 0; ow < OW; ow++) {
          const dyBase = ((n * OH + oh) * OW + ow) * CO;
          for (let j = 0; j < KW; j++) {
            const iw = ow * SW + j * DW - PL;
            if (iw < 0 || iw >= W) continue;
            const xBase = ((n * H + ih) * W + iw) * CI;
            const wBase = (i * KW + j) * CI * CO;
            for (let ci = 0; ci < CI; ci++) {
              const xv = x[xBase + ci]!;
              if (xv === 0) continue; // zero padding rows and ReLU-like zeros cost nothing
              const wb = wBase + ci * CO;
              for (let co = 0; co < CO; co++) acc[wb + co]! += xv * dy[dyBase + co]!;
            }
          }
        }
      }
    }
  }
  (backend.typedArrayFromHeap(dw) as Float32Array).set(acc);
  return dw;
}

// ---------------------------------------------------------------------------------------
// Conv2DBackpropInput: wasm has one (XNNPACK deconvolution), but for 1x1 stride-1 convs it
// runs ~7x slower than the forward conv; there dx = dy . W^T is a forward 1x1 conv with
// the filter's two channel axes swapped. Other shapes go to the backend's own kernel.

interface Conv2DBackpropInputAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

function conv2DBackpropInput(args: { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: Conv2DBackpropInputAttrs }): tf.TensorInfo {
  const { backend, attrs } = args;
  const dy = args.inputs.dy!;
  const filter = args.inputs.filter!;
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad,
    attrs.dimRoundingMode, false, tf.backend_util.convertConv2DDataFormat(attrs.dataFormat),
  );
  const plainFloat = info.dataFormat === 'channelsLast' && dy.dtype === 'float32' && filter.dtype === 'float32';
  const colsBytes = 4 * info.batchSize * info.outHeight * info.outWidth * info.filterHeight * info.filterWidth * info.inChannels;
  if (plainFloat && !isPointwise(info) && info.dilationHeight === 1 && info.dilationWidth === 1 && colsBytes <= IM2COL_MAX_BYTES) {
    return conv2DBackpropInputCol2im(backend, dy, filter, info);
  }
  if (!isPointwise(info) || !plainFloat) return runBuiltIn('Conv2DBackpropInput', args);
  const CI = info.inChannels;
  const CO = info.outChannels;
  const wt = backend.makeOutput([1, 1, CO, CI], 'float32');
  transposeInto(backend, filter, CI, CO, wt);
  const P = info.batchSize * info.outHeight * info.outWidth;
  // dy . W^T in our own GEMM: XNNPACK first re-packs W^T (new every step), which costs most with
  // few pixels per weight; with many, the fused multiply-adds make ours ~10% faster at 96 px.
  const simd = P % 4 === 0 && CI % 8 === 0 ? simdKernels(backend) : null;
  let dx: tf.TensorInfo;
  if (simd) {
    dx = backend.makeOutput(info.inShape, 'float32');
    simd.fns.gemmAB(simd.ptr(dy), simd.ptr(wt), simd.ptr(dx), P, CO, CI);
  } else {
    dx = nativeConv1x1(backend, dy, dy.shape, wt, CO, CI);
  }
  backend.disposeData(wt.dataId);
  return dx;
}

/**
 * Any kernel size and stride: cols = dy . W^T ([pixels, KH*KW*CI], one XNNPACK GEMM as a
 * 1x1 conv), then each column added back onto the input pixel its tap read (col2im).
 * wasm's own deconvolution took ~6% of a 96 px step for the stem conv alone, whose input
 * gradient tfjs' fused conv computes even though nothing uses it.
 */
function conv2DBackpropInputCol2im(backend: BackendWasm, dyInfo: tf.TensorInfo, wInfo: tf.TensorInfo, info: Conv2DInfo): tf.TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: SH, strideWidth: SW } = info;
  const PT = info.padInfo.top;
  const PL = info.padInfo.left;
  const K = KH * KW * CI;
  const wt = backend.makeOutput([1, 1, CO, K], 'float32');
  transposeInto(backend, wInfo, K, CO, wt);
  const colsInfo = nativeConv1x1(backend, dyInfo, [N, OH, OW], wt, CO, K); // [N, OH, OW, K]
  backend.disposeData(wt.dataId);
  const dxInfo = backend.makeOutput(info.inShape, 'float32');
  const dx = backend.typedArrayFromHeap(dxInfo) as Float32Array;
  const cols = backend.typedArrayFromHeap(colsInfo) as Float32Array;
  dx.fill(0);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let c = ((n * OH + oh) * OW + ow) * K;
        for (let i = 0; i < KH; i++) {
          const ih = oh * SH + i - PT;
          if (ih < 0 || ih >= H) {
            c += KW * CI;
            continue;
          }
          for (let j = 0; j < KW; j++, c += CI) {
            const iw = ow * SW + j - PL;
            if (iw < 0 || iw >= W) continue;
            const o = ((n * H + ih) * W + iw) * CI;
            for (let ci = 0; ci < CI; ci++) dx[o + ci]! += cols[c + ci]!;
          }
        }
      }
    }
  }
  backend.disposeData(colsInfo.dataId);
  return dxInfo;
}

// ---------------------------------------------------------------------------------------
// Depthwise gradients. Filter [kh, kw, C, M]; output channel c*M+m reads input channel c.

interface DepthwiseAttrs {
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** dW[i,j,c,m] = sum over n, oh, ow of x[n, ih, iw, c] * dy[n, oh, ow, c*M+m], in one pass. */
function depthwiseBackpropFilter(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: BackendWasm;
  attrs: DepthwiseAttrs & { filterShape: [number, number, number, number] };
}): tf.TensorInfo {
  const { backend, attrs } = args;
  const xInfo = args.inputs.x!;
  const dyInfo = args.inputs.dy!;
  assertFloat32('DepthwiseConv2dNativeBackpropFilter', xInfo, dyInfo);
  const info = tf.backend_util.computeConv2DInfo(
    xInfo.shape as [number, number, number, number], attrs.filterShape, attrs.strides, attrs.dilations,
    attrs.pad, attrs.dimRoundingMode, true,
  );
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: CM } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: SH, strideWidth: SW, dilationHeight: DH, dilationWidth: DW } = info;
  const M = CM / C;
  const PT = info.padInfo.top;
  const PL = info.padInfo.left;
  const dw = backend.makeOutput(attrs.filterShape, 'float32');
  const simd = M === 1 && C % 4 === 0 ? simdKernels(backend) : null;
  if (simd) {
    depthwiseBackpropFilterSimd(simd, xInfo, dyInfo, dw, info);
    return dw;
  }
  const acc = new Float64Array(KH * KW * CM); // the sums run over N*OH*OW terms: accumulate in f64
  const x = backend.typedArrayFromHeap(xInfo) as Float32Array;
  const dy = backend.typedArrayFromHeap(dyInfo) as Float32Array;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let i = 0; i < KH; i++) {
        const ih = oh * SH + i * DH - PT;
        if (ih < 0 || ih >= H) continue;
        for (let ow = 0; ow < OW; ow++) {
          const dyBase = ((n * OH + oh) * OW + ow) * CM;
          for (let j = 0; j < KW; j++) {
            const iw = ow * SW + j * DW - PL;
            if (iw < 0 || iw >= W) continue;
            const xBase = ((n * H + ih) * W + iw) * C;
            const wBase = (i * KW + j) * CM;
            if (M === 1) {
              for (let c = 0; c < C; c++) acc[wBase + c]! += x[xBase + c]! * dy[dyBase + c]!;
            } else {
              for (let c = 0; c < C; c++) {
                const xv = x[xBase + c]!;
                for (let m = 0; m < M; m++) acc[wBase + c * M + m]! += xv * dy[dyBase + c * M + m]!;
              }
            }
          }
        }
      }
    }
  }
  (backend.typedArrayFromHeap(dw) as Float32Array).set(acc);
  return dw;
}

/**
 * The channel-multiplier-1 depthwise filter gradient with the channel loop in SIMD: one
 * wasm call per (image, output row, kernel row) accumulates that row's taps in f32, and
 * each output row's partial sums are added into f64 (so no f32 sum runs over more than
 * OW * KW terms).
 */
function depthwiseBackpropFilterSimd(simd: SimdKernels, xInfo: tf.TensorInfo, dyInfo: tf.TensorInfo, dwInfo: tf.TensorInfo, info: Conv2DInfo): void {
  const taps = info.filterHeight * info.filterWidth * info.inChannels;
  const acc64 = simd.alloc(8 * taps);
  const acc32 = simd.alloc(4 * taps);
  simd.f64(acc64, taps).fill(0);
  simd.f32(acc32, taps).fill(0);
  const x = simd.ptr(xInfo);
  const dy = simd.ptr(dyInfo);
  const { depthwiseFilterRow, flush } = simd.fns;
  const { outWidth: OW, inWidth: W, inChannels: C, filterWidth: KW, strideWidth: SW, dilationWidth: DW } = info;
  forEachDepthwiseRow(
    info,
    (inRow, dyRow, kernelRow) => depthwiseFilterRow(x + inRow, dy + dyRow, acc32 + kernelRow, OW, W, C, KW, SW, DW, info.padInfo.left),
    () => flush(acc32, acc64, taps),
  );
  simd.f32(simd.ptr(dwInfo), taps).set(simd.f64(acc64, taps));
  simd.free(acc32);
  simd.free(acc64);
}

/**
 * Every (input row, dy row, kernel row) a channel-multiplier-1 depthwise conv pairs, as byte
 * offsets from the start of x (or dx), dy and the filter (or its accumulators): the rows the
 * SIMD row kernels take. `afterOutputRow` runs once each dy row is done.
 */
function forEachDepthwiseRow(info: Conv2DInfo, visit: (inRow: number, dyRow: number, kernelRow: number) => void, afterOutputRow?: () => void): void {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: SH, dilationHeight: DH } = info;
  const rowBytes = 4 * W * C;
  const dyRowBytes = 4 * OW * C;
  const kernelRowBytes = 4 * KW * C;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const dyRow = (n * OH + oh) * dyRowBytes;
      for (let i = 0; i < KH; i++) {
        const ih = oh * SH + i * DH - info.padInfo.top;
        if (ih >= 0 && ih < H) visit((n * H + ih) * rowBytes, dyRow, i * kernelRowBytes);
      }
      afterOutputRow?.();
    }
  }
}

/** dx[n,ih,iw,c] = sum over the taps that read it of dy * w, scattered in one pass over dy. */
function depthwiseBackpropInputLoop(backend: BackendWasm, dyInfo: tf.TensorInfo, wInfo: tf.TensorInfo, info: Conv2DInfo): tf.TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: CM } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: SH, strideWidth: SW, dilationHeight: DH, dilationWidth: DW } = info;
  const M = CM / C;
  const PT = info.padInfo.top;
  const PL = info.padInfo.left;
  const dxInfo = backend.makeOutput(info.inShape, 'float32');
  const dx = backend.typedArrayFromHeap(dxInfo) as Float32Array;
  dx.fill(0);
  const dy = backend.typedArrayFromHeap(dyInfo) as Float32Array;
  const w = backend.typedArrayFromHeap(wInfo) as Float32Array;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let i = 0; i < KH; i++) {
        const ih = oh * SH + i * DH - PT;
        if (ih < 0 || ih >= H) continue;
        for (let ow = 0; ow < OW; ow++) {
          const dyBase = ((n * OH + oh) * OW + ow) * CM;
          for (let j = 0; j < KW; j++) {
            const iw = ow * SW + j * DW - PL;
            if (iw < 0 || iw >= W) continue;
            const xBase = ((n * H + ih) * W + iw) * C;
            const wBase = (i * KW + j) * CM;
            if (M === 1) {
              for (let c = 0; c < C; c++) dx[xBase + c]! += dy[dyBase + c]! * w[wBase + c]!;
            } else {
              for (let c = 0; c < C; c++) {
                let s = 0;
                for (let m = 0; m < M; m++) s += dy[dyBase + c * M + m]! * w[wBase + c * M + m]!;
                dx[xBase + c]! += s;
              }
            }
          }
        }
      }
    }
  }
  return dxInfo;
}

/**
 * With one channel per group, the input gradient is itself a depthwise conv: dy (spread
 * out by the stride) correlated with the 180-degree-rotated filter, padded by (k-1)*d
 * minus the forward padding. That runs in the backend's native (XNNPACK) depthwise conv.
 */
function depthwiseBackpropInputNative(backend: BackendWasm, dyInfo: tf.TensorInfo, wInfo: tf.TensorInfo, info: Conv2DInfo): tf.TensorInfo {
  const { filterHeight: KH, filterWidth: KW, dilationHeight: DH, dilationWidth: DW, inChannels: C } = info;
  const flipped = backend.makeOutput([KH, KW, C, 1], 'float32');
  const w = backend.typedArrayFromHeap(wInfo) as Float32Array;
  const f = backend.typedArrayFromHeap(flipped) as Float32Array;
  for (let i = 0; i < KH; i++) {
    for (let j = 0; j < KW; j++) {
      const src = (i * KW + j) * C;
      const dst = ((KH - 1 - i) * KW + (KW - 1 - j)) * C;
      for (let c = 0; c < C; c++) f[dst + c] = w[src + c]!;
    }
  }
  const { padTop, padBottom, padLeft, padRight, dilatedH, dilatedW } = depthwiseInputGradPadding(info);
  // At stride s, dy spread out with s-1 zeros between its pixels makes the stride-1 case.
  const spread = info.strideHeight > 1 || info.strideWidth > 1 ? spreadOut(backend, dyInfo, info, dilatedH, dilatedW) : dyInfo;
  const dx = backend.makeOutput(info.inShape, 'float32');
  nativeKernels(backend).depthwiseConv2d(
    id(backend, spread), info.batchSize, dilatedH, dilatedW,
    id(backend, flipped), KH, KW,
    padTop, padRight, padBottom, padLeft, 0,
    DH, DW, 1, 1, C, C,
    id(backend, dx),
  );
  if (spread !== dyInfo) backend.disposeData(spread.dataId);
  backend.disposeData(flipped.dataId);
  return dx;
}

/**
 * The depthwise input gradient (channel multiplier 1, C % 4 == 0) scattered straight into
 * dx: each dy row adds its taps onto the input rows its kernel rows read (one SIMD call per
 * image, output row and kernel row), only the taps that land inside the input. The
 * flipped-filter conv below first spreads dy out by the stride (three quarters zeros at
 * stride 2) and convolves every tap of the padded input: at 96 px it took ~9-15 ms per
 * stride-2 layer against ~1-3 ms this way, and ~32 ms against ~17-24 for all 16 layers.
 */
function depthwiseBackpropInputScatter(backend: BackendWasm, simd: SimdKernels, dyInfo: tf.TensorInfo, wInfo: tf.TensorInfo, info: Conv2DInfo): tf.TensorInfo {
  const dxInfo = backend.makeOutput(info.inShape, 'float32');
  simd.f32(simd.ptr(dxInfo), tf.util.sizeFromShape(info.inShape)).fill(0);
  const dx = simd.ptr(dxInfo);
  const dy = simd.ptr(dyInfo);
  const w = simd.ptr(wInfo);
  const { depthwiseInputRow } = simd.fns;
  const { outWidth: OW, inWidth: W, inChannels: C, filterWidth: KW, strideWidth: SW, dilationWidth: DW } = info;
  forEachDepthwiseRow(info, (inRow, dyRow, kernelRow) => depthwiseInputRow(dy + dyRow, w + kernelRow, dx + inRow, OW, W, C, KW, SW, DW, info.padInfo.left));
  return dxInfo;
}

/** Padding of the flipped-filter conv over the (spread-out) dy that lands exactly on the input's H x W. */
function depthwiseInputGradPadding(info: Conv2DInfo): { padTop: number; padBottom: number; padLeft: number; padRight: number; dilatedH: number; dilatedW: number } {
  const effH = (info.filterHeight - 1) * info.dilationHeight;
  const effW = (info.filterWidth - 1) * info.dilationWidth;
  const dilatedH = (info.outHeight - 1) * info.strideHeight + 1;
  const dilatedW = (info.outWidth - 1) * info.strideWidth + 1;
  const padTop = effH - info.padInfo.top;
  const padLeft = effW - info.padInfo.left;
  // inHeight = dilatedH + padTop + padBottom - effH
  return { padTop, padLeft, padBottom: info.inHeight - dilatedH - padTop + effH, padRight: info.inWidth - dilatedW - padLeft + effW, dilatedH, dilatedW };
}

/** dy [N, OH, OW, C] -> [N, (OH-1)*SH+1, (OW-1)*SW+1, C] with zeros between the original pixels. */
function spreadOut(backend: BackendWasm, dyInfo: tf.TensorInfo, info: Conv2DInfo, dilatedH: number, dilatedW: number): tf.TensorInfo {
  const { batchSize: N, outHeight: OH, outWidth: OW, outChannels: C, strideHeight: SH, strideWidth: SW } = info;
  const outInfo = backend.makeOutput([N, dilatedH, dilatedW, C], 'float32');
  const out = backend.typedArrayFromHeap(outInfo) as Float32Array;
  const dy = backend.typedArrayFromHeap(dyInfo) as Float32Array;
  out.fill(0);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const src = ((n * OH + oh) * OW + ow) * C;
        out.set(dy.subarray(src, src + C), ((n * dilatedH + oh * SH) * dilatedW + ow * SW) * C);
      }
    }
  }
  return outInfo;
}

function depthwiseBackpropInput(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: BackendWasm;
  attrs: DepthwiseAttrs & { inputShape: [number, number, number, number] };
}): tf.TensorInfo {
  const { backend, attrs } = args;
  const dy = args.inputs.dy!;
  const filter = args.inputs.filter!;
  assertFloat32('DepthwiseConv2dNativeBackpropInput', dy, filter);
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, attrs.dilations,
    attrs.pad, attrs.dimRoundingMode, true,
  );
  const pads = depthwiseInputGradPadding(info);
  const paddingFits = pads.padTop >= 0 && pads.padLeft >= 0 && pads.padBottom >= 0 && pads.padRight >= 0;
  const stridedAndDilated = (info.strideHeight > 1 || info.strideWidth > 1) && (info.dilationHeight > 1 || info.dilationWidth > 1);
  const simd = info.outChannels === info.inChannels && info.inChannels % 4 === 0 ? simdKernels(backend) : null;
  if (simd) return depthwiseBackpropInputScatter(backend, simd, dy, filter, info);
  if (info.outChannels === info.inChannels && paddingFits && !stridedAndDilated) {
    return depthwiseBackpropInputNative(backend, dy, filter, info);
  }
  return depthwiseBackpropInputLoop(backend, dy, filter, info);
}

// ---------------------------------------------------------------------------------------

/** Kernel name -> implementation; exported so tests can list what is covered. */
export const WASM_TRAINING_KERNELS: Record<string, tf.KernelFunc> = {
  // The kernel functions take the backend's concrete type; tfjs' KernelFunc is typed loosely.
  Conv2DBackpropFilter: conv2DBackpropFilter as unknown as tf.KernelFunc,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter as unknown as tf.KernelFunc,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput as unknown as tf.KernelFunc,
};

/**
 * Identity without a copy: the new tensor shares the input's heap memory (reference
 * counted, as the backend's own Reshape does). tfjs tensors are immutable, so sharing is
 * safe; wasm's Identity copies, and the engine clones every tensor a gradient saves (customGrad's
 * save, saveTensorsForBackwardMode), which made those copies ~8% of a step at 96 px.
 */
function identityShared(args: { inputs: tf.NamedTensorInfoMap; backend: BackendWasm }): tf.TensorInfo {
  const x = args.inputs.x!;
  if (x.dtype === 'string') return runBuiltIn('Identity', args);
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
}

/**
 * Mean over the middle axes of a float32 [N, ..., C] tensor (global average pooling, in
 * every squeeze-excitation block) as one SIMD pass per image; wasm's own Mean first
 * transposes the whole input to put those axes last. Other means go to wasm's kernel.
 */
function meanPool(args: { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: { axis: number | number[]; keepDims: boolean } }): tf.TensorInfo {
  const { backend, attrs } = args;
  const x = args.inputs.x!;
  const axes = tf.util.parseAxisParam(attrs.axis, x.shape);
  const middle = x.shape.length >= 3 && axes.length === x.shape.length - 2 && [...axes].sort((a, b) => a - b).every((a, i) => a === i + 1);
  const N = x.shape[0]!;
  const C = x.shape[x.shape.length - 1]!;
  const simd = middle && x.dtype === 'float32' && C % 4 === 0 && tf.util.sizeFromShape(x.shape) > 0 ? simdKernels(backend) : null;
  if (!simd) return runBuiltIn('Mean', args);
  const inner = tf.util.sizeFromShape(x.shape) / (N * C);
  const outShape = attrs.keepDims ? x.shape.map((d, i) => (i === 0 || i === x.shape.length - 1 ? d : 1)) : [N, C];
  const out = backend.makeOutput(outShape, 'float32');
  const acc = simd.alloc(12 * C); // [sums f64 C][scratch f32 C]
  const xp = simd.ptr(x);
  for (let n = 0; n < N; n++) {
    simd.f64(acc, C).fill(0);
    simd.fns.sum1(xp + 4 * n * inner * C, inner, C, acc, acc + 8 * C);
    const sums = simd.f64(acc, C);
    const o = simd.f32(simd.ptr(out), N * C);
    for (let c = 0; c < C; c++) o[n * C + c] = sums[c]! / inner;
  }
  simd.free(acc);
  return out;
}

/**
 * Slice as whole runs: the trailing axes the slice keeps entire merge with the next one into
 * one contiguous run per outer index, copied with the heap's memmove. wasm's own kernel copies
 * every innermost row on its own (a subarray and a set each): the gradient of a ZeroPadding2D
 * ([16, 49, 49, 96] -> [16, 48, 48, 96], 36,864 rows) took ~60-80 ms of a 96 px step.
 */
function sliceRuns(args: { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: { begin: number | number[]; size: number | number[] } }): tf.TensorInfo {
  const { backend, attrs } = args;
  const x = args.inputs.x!;
  if (x.dtype === 'string' || x.dtype === 'complex64') return runBuiltIn('Slice', args);
  const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin, attrs.size);
  const out = backend.makeOutput(size, x.dtype);
  const total = tf.util.sizeFromShape(size);
  if (total === 0) return out;
  const rank = size.length;
  const strides = [...tf.util.computeStrides(x.shape), 1];
  // The run: the innermost axis the slice cuts, and every axis inside it (kept whole).
  let runAxis = rank - 1;
  while (runAxis > 0 && size[runAxis] === x.shape[runAxis]) runAxis--;
  const run = size[runAxis]! * strides[runAxis]!;
  const bytes = x.dtype === 'bool' ? 1 : 4;
  const heap = (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8;
  const src0 = backend.dataIdMap.get(x.dataId)!.memoryOffset + bytes * begin.reduce((o, b, i) => o + b * strides[i]!, 0);
  let dst = backend.dataIdMap.get(out.dataId)!.memoryOffset;
  const index = new Array<number>(runAxis).fill(0); // odometer over the axes outside the run
  for (let done = 0; done < total; done += run) {
    let src = src0;
    for (let a = 0; a < runAxis; a++) src += bytes * index[a]! * strides[a]!;
    heap.copyWithin(dst, src, src + bytes * run);
    dst += bytes * run;
    for (let a = runAxis - 1; a >= 0 && ++index[a]! === size[a]; a--) index[a] = 0;
  }
  return out;
}

/**
 * The two products a dense layer's gradient takes, a^T.b (weights: x^T.dy) and a.b^T (input:
 * dy.W^T), in the SIMD GEMMs the 1x1 convs use; wasm's own BatchMatMul ran them at ~2 GFLOP/s
 * for the 1280 x 512 head layer (10 and 7.5 ms of a step). Other products (batches, plain
 * a.b, shapes the SIMD loops do not take) go to wasm's kernel.
 */
function batchMatMul(args: { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: { transposeA: boolean; transposeB: boolean } }): tf.TensorInfo {
  const { backend, attrs } = args;
  const a = args.inputs.a!;
  const b = args.inputs.b!;
  const rank = a.shape.length;
  const single = (t: tf.TensorInfo): boolean => t.shape.length === rank && (rank === 2 || (rank === 3 && t.shape[0] === 1));
  const simd = a.dtype === 'float32' && b.dtype === 'float32' && single(a) && single(b) && attrs.transposeA !== attrs.transposeB ? simdKernels(backend) : null;
  const [a0, a1] = a.shape.slice(-2) as [number, number];
  const [b0, b1] = b.shape.slice(-2) as [number, number];
  const batch = rank === 3 ? [1] : [];
  if (simd && attrs.transposeA && a0 === b0 && a1 % 4 === 0 && b1 % 8 === 0) {
    const out = backend.makeOutput([...batch, a1, b1], 'float32');
    simd.f32(simd.ptr(out), a1 * b1).fill(0);
    simd.fns.gemmAtB(simd.ptr(a), simd.ptr(b), simd.ptr(out), a0, a1, b1);
    return out;
  }
  if (simd && attrs.transposeB && a1 === b1 && a0 % 4 === 0 && b0 % 8 === 0) {
    const bt = backend.makeOutput([b1, b0], 'float32');
    transposeInto(backend, b, b0, b1, bt);
    const out = backend.makeOutput([...batch, a0, b0], 'float32');
    simd.fns.gemmAB(simd.ptr(a), simd.ptr(bt), simd.ptr(out), a0, a1, b0);
    backend.disposeData(bt.dataId);
    return out;
  }
  return runBuiltIn('BatchMatMul', args);
}

/**
 * A 1x1 stride-1 conv as x . W in the SIMD GEMM: W [1, 1, CI, CO] is already the [K, N]
 * matrix it takes. XNNPACK re-packs the weights (new every training step) and ran the late,
 * few-pixel layers at ~20 GFLOP/s against ~34; with fused multiply-adds (simd-kernels.ts)
 * ours is also ~10% faster over many pixels. Other convs go to wasm's kernel (XNNPACK).
 */
function conv2D(args: { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: { strides: [number, number] | number; pad: Conv2DBackpropFilterAttrs['pad']; dataFormat: 'NHWC' | 'NCHW'; dilations: [number, number] | number; dimRoundingMode?: 'floor' | 'round' | 'ceil' } }): tf.TensorInfo {
  const { backend, attrs } = args;
  const x = args.inputs.x!;
  const filter = args.inputs.filter!;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filter.shape as [number, number, number, number], attrs.strides, attrs.dilations ?? 1,
    attrs.pad, attrs.dimRoundingMode, false, tf.backend_util.convertConv2DDataFormat(attrs.dataFormat),
  );
  const P = info.batchSize * info.outHeight * info.outWidth;
  const CI = info.inChannels;
  const CO = info.outChannels;
  const fits = P % 4 === 0 && CO % 8 === 0;
  const plain = info.dataFormat === 'channelsLast' && x.dtype === 'float32' && filter.dtype === 'float32' && isPointwise(info); // (a 1x1 filter's dilation changes nothing)
  const simd = plain && fits ? simdKernels(backend) : null;
  if (!simd) return runBuiltIn('Conv2D', args);
  const out = backend.makeOutput(info.outShape, 'float32');
  simd.fns.gemmAB(simd.ptr(x), simd.ptr(filter), simd.ptr(out), P, CI, CO);
  return out;
}

/** wasm's own kernels that WASM_KERNEL_OVERRIDES replace, by name: what an override delegates to for the cases it does not handle. */
const builtIns = new Map<string, tf.KernelFunc>();

function runBuiltIn(kernelName: string, args: object): tf.TensorInfo {
  const builtIn = builtIns.get(kernelName);
  if (!builtIn) throw new Error(`${kernelName}: the wasm backend has no kernel to fall back to`);
  // Our kernels take the wasm backend's concrete type; tfjs' KernelFunc is typed loosely.
  return builtIn(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
}

/** Kernels wasm has but that are slow for training's shapes; ours handle the fast cases and delegate the rest. */
export const WASM_KERNEL_OVERRIDES: Record<string, tf.KernelFunc> = {
  Conv2DBackpropInput: conv2DBackpropInput as unknown as tf.KernelFunc,
  Identity: identityShared as unknown as tf.KernelFunc,
  Mean: meanPool as unknown as tf.KernelFunc,
  Slice: sliceRuns as unknown as tf.KernelFunc,
  BatchMatMul: batchMatMul as unknown as tf.KernelFunc,
  Conv2D: conv2D as unknown as tf.KernelFunc,
};

let registered = false;

/**
 * Registers the wasm training kernels once; later calls do nothing. Also installs the
 * BatchNorm / swish fusions (wasm-fused-layers.ts) unless BRICKFLOW_WASM_FUSED=0, which
 * exists to measure what they bring. A missing kernel that
 * the installed tfjs-backend-wasm already provides is left alone (a native one is at least
 * as good); an override keeps the built-in kernel to delegate to.
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  if (process.env.BRICKFLOW_WASM_FUSED !== '0') installWasmFusedLayers();
  if (process.env.BRICKFLOW_WASM_BN_GRAD !== '0') tf.registerGradient(broadcastBatchNormGradConfig);
  if (process.env.BRICKFLOW_WASM_MEAN_GRAD !== '0') tf.registerGradient(broadcastMeanGradConfig);
  for (const [kernelName, kernelFunc] of Object.entries(WASM_TRAINING_KERNELS)) {
    if (tf.getKernel(kernelName, 'wasm')) continue;
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
  for (const [kernelName, override] of Object.entries(WASM_KERNEL_OVERRIDES)) {
    const builtIn = tf.getKernel(kernelName, 'wasm');
    if (!builtIn) continue;
    builtIns.set(kernelName, builtIn.kernelFunc);
    tf.unregisterKernel(kernelName, 'wasm');
    // The backend's setup for its own kernel has already run if the backend was initialised; keep it for the fallback.
    tf.registerKernel({ ...builtIn, kernelFunc: override });
  }
}
