/**
 * Training-time fusions for the wasm backend: BatchNormalization (batch statistics,
 * normalisation and its whole backward pass) and swish each become one op with its own
 * gradient, computed in single passes over the wasm heap. tfjs would otherwise build them
 * from ~15 full-size elementwise ops per BatchNorm (moments, broadcasts, a Tile in the
 * gradient) and ~5 per swish backward, which dominated a training step once the convs were fast.
 *
 * It works by wrapping two tfjs-layers methods (BatchNormalization.call in training mode,
 * and the swish activation's apply) — only while the wasm backend is active, only for the
 * cases computed here (channels-last, float32, with gamma and beta), and falling through
 * to tfjs' own code otherwise, so results do not depend on whether it is installed. A third
 * wrap goes the other way: a conv with neither bias nor activation runs unfused (tf.conv2d),
 * whose gradient computes only the gradients the tape needs.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { simdKernels, type SimdKernels } from './simd-kernels.ts';

const BN_TRAIN = 'BrickflowBatchNormTrain';
const BN_TRAIN_GRAD = 'BrickflowBatchNormTrainGrad';
const SWISH_GRAD = 'BrickflowSwishGrad';

function f32(backend: BackendWasm, t: tf.TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

/** y = (x - mean) / sqrt(var + eps) * gamma + beta with the batch's mean and (biased) variance per channel. */
function batchNormTrain(args: { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: { epsilon: number } }): tf.TensorInfo[] {
  const { backend } = args;
  const { x: xI, gamma: gI, beta: bI } = args.inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
  const C = xI.shape[xI.shape.length - 1]!;
  const size = tf.util.sizeFromShape(xI.shape);
  const P = size / C;
  const yI = backend.makeOutput(xI.shape, 'float32');
  const meanI = backend.makeOutput([C], 'float32');
  const varI = backend.makeOutput([C], 'float32');
  const simd = C % 4 === 0 ? simdKernels(backend) : null;
  if (simd) {
    batchNormTrainSimd(simd, xI, gI, bI, yI, meanI, varI, P, C, args.attrs.epsilon);
    return [yI, meanI, varI];
  }
  // Views after every allocation: an allocation can grow (and detach) the heap.
  const x = f32(backend, xI);
  const gamma = f32(backend, gI);
  const beta = f32(backend, bI);
  const sum = new Float64Array(C);
  const sumSq = new Float64Array(C);
  for (let p = 0, o = 0; p < P; p++, o += C) {
    for (let c = 0; c < C; c++) {
      const v = x[o + c]!;
      sum[c]! += v;
      sumSq[c]! += v * v;
    }
  }
  const mean = f32(backend, meanI);
  const variance = f32(backend, varI);
  const a = new Float32Array(C); // y = x * a + b
  const b = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    const m = sum[c]! / P;
    const v = Math.max(0, sumSq[c]! / P - m * m);
    mean[c] = m;
    variance[c] = v;
    a[c] = gamma[c]! / Math.sqrt(v + args.attrs.epsilon);
    b[c] = beta[c]! - m * a[c]!;
  }
  const y = f32(backend, yI);
  for (let p = 0, o = 0; p < P; p++, o += C) {
    for (let c = 0; c < C; c++) y[o + c] = x[o + c]! * a[c]! + b[c]!;
  }
  return [yI, meanI, varI];
}

/** batchNormTrain's two passes as SIMD loops: per-channel sums (f32 in blocks of 64 pixels, then f64), then y = x * a + b. */
function batchNormTrainSimd(
  simd: SimdKernels, xI: tf.TensorInfo, gI: tf.TensorInfo, bI: tf.TensorInfo,
  yI: tf.TensorInfo, meanI: tf.TensorInfo, varI: tf.TensorInfo, P: number, C: number, epsilon: number,
): void {
  // One block: [sum f64 C][sumSq f64 C][scratch f32 2C][a f32 C][b f32 C]
  const block = simd.alloc(32 * C);
  const sumP = block;
  const sumSqP = block + 8 * C;
  const scrP = block + 16 * C;
  const aP = block + 24 * C;
  const bP = block + 28 * C;
  simd.f64(block, 2 * C).fill(0);
  simd.fns.sum2(simd.ptr(xI), simd.ptr(xI), P, C, sumP, sumSqP, scrP);
  const sum = simd.f64(sumP, C);
  const sumSq = simd.f64(sumSqP, C);
  const gamma = simd.f32(simd.ptr(gI), C);
  const beta = simd.f32(simd.ptr(bI), C);
  const mean = simd.f32(simd.ptr(meanI), C);
  const variance = simd.f32(simd.ptr(varI), C);
  const a = simd.f32(aP, C);
  const b = simd.f32(bP, C);
  for (let c = 0; c < C; c++) {
    const m = sum[c]! / P;
    const v = Math.max(0, sumSq[c]! / P - m * m);
    mean[c] = m;
    variance[c] = v;
    a[c] = gamma[c]! / Math.sqrt(v + epsilon);
    b[c] = beta[c]! - m * a[c]!;
  }
  simd.fns.affine(simd.ptr(xI), simd.ptr(yI), P, C, aP, bP);
  simd.free(block);
}

/**
 * The gradient of batchNormTrain through the batch statistics:
 * dx = gamma * invStd / P * (P * dy - sum(dy) - xhat * sum(dy * xhat)), dgamma = sum(dy * xhat), dbeta = sum(dy).
 */
function batchNormTrainGrad(args: { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: { epsilon: number } }): tf.TensorInfo[] {
  const { backend } = args;
  const { dy: dyI, x: xI, gamma: gI, mean: mI, variance: vI } = args.inputs as Record<string, tf.TensorInfo>;
  const C = xI!.shape[xI!.shape.length - 1]!;
  const P = tf.util.sizeFromShape(xI!.shape) / C;
  const dxI = backend.makeOutput(xI!.shape, 'float32');
  const dgI = backend.makeOutput([C], 'float32');
  const dbI = backend.makeOutput([C], 'float32');
  const simd = C % 4 === 0 ? simdKernels(backend) : null;
  if (simd) {
    batchNormTrainGradSimd(simd, { dy: dyI!, x: xI!, gamma: gI!, mean: mI!, variance: vI!, dx: dxI, dgamma: dgI, dbeta: dbI }, P, C, args.attrs.epsilon);
    return [dxI, dgI, dbI];
  }
  const dy = f32(backend, dyI!);
  const x = f32(backend, xI!);
  const gamma = f32(backend, gI!);
  const mean = f32(backend, mI!);
  const variance = f32(backend, vI!);
  const invStd = new Float32Array(C);
  for (let c = 0; c < C; c++) invStd[c] = 1 / Math.sqrt(variance[c]! + args.attrs.epsilon);
  const sumDy = new Float64Array(C);
  const sumDyX = new Float64Array(C); // sum(dy * x); sum(dy * (x - mean)) = sumDyX - mean * sumDy
  for (let p = 0, o = 0; p < P; p++, o += C) {
    for (let c = 0; c < C; c++) {
      const g = dy[o + c]!;
      sumDy[c]! += g;
      sumDyX[c]! += g * x[o + c]!;
    }
  }
  const dgamma = f32(backend, dgI);
  const dbeta = f32(backend, dbI);
  // dx = k * dy + u * x + v per channel
  const k = new Float32Array(C);
  const u = new Float32Array(C);
  const v = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    const is = invStd[c]!;
    const sumDyXc = sumDyX[c]! - mean[c]! * sumDy[c]!;
    dgamma[c] = sumDyXc * is;
    dbeta[c] = sumDy[c]!;
    k[c] = gamma[c]! * is;
    u[c] = (-gamma[c]! * is * is * is * sumDyXc) / P;
    v[c] = (-gamma[c]! * is * sumDy[c]!) / P - u[c]! * mean[c]!;
  }
  const dx = f32(backend, dxI);
  for (let p = 0, o = 0; p < P; p++, o += C) {
    for (let c = 0; c < C; c++) dx[o + c] = k[c]! * dy[o + c]! + u[c]! * x[o + c]! + v[c]!;
  }
  return [dxI, dgI, dbI];
}

/** batchNormTrainGrad's two passes as SIMD loops: sum(dy) and sum(dy * x) per channel, then dx = k * dy + u * x + v. */
function batchNormTrainGradSimd(
  simd: SimdKernels, t: Record<'dy' | 'x' | 'gamma' | 'mean' | 'variance' | 'dx' | 'dgamma' | 'dbeta', tf.TensorInfo>,
  P: number, C: number, epsilon: number,
): void {
  // One block: [sumDy f64 C][sumDyX f64 C][scratch f32 2C][k f32 C][u f32 C][v f32 C]
  const block = simd.alloc(36 * C);
  const sumDyP = block;
  const sumDyXP = block + 8 * C;
  const scrP = block + 16 * C;
  const kP = block + 24 * C;
  const uP = block + 28 * C;
  const vP = block + 32 * C;
  simd.f64(block, 2 * C).fill(0);
  simd.fns.sum2(simd.ptr(t.dy), simd.ptr(t.x), P, C, sumDyP, sumDyXP, scrP);
  const sumDy = simd.f64(sumDyP, C);
  const sumDyX = simd.f64(sumDyXP, C);
  const gamma = simd.f32(simd.ptr(t.gamma), C);
  const mean = simd.f32(simd.ptr(t.mean), C);
  const variance = simd.f32(simd.ptr(t.variance), C);
  const dgamma = simd.f32(simd.ptr(t.dgamma), C);
  const dbeta = simd.f32(simd.ptr(t.dbeta), C);
  const k = simd.f32(kP, C);
  const u = simd.f32(uP, C);
  const v = simd.f32(vP, C);
  for (let c = 0; c < C; c++) {
    const is = 1 / Math.sqrt(variance[c]! + epsilon);
    const sumDyXc = sumDyX[c]! - mean[c]! * sumDy[c]!;
    dgamma[c] = sumDyXc * is;
    dbeta[c] = sumDy[c]!;
    k[c] = gamma[c]! * is;
    u[c] = (-gamma[c]! * is * is * is * sumDyXc) / P;
    v[c] = (-gamma[c]! * is * sumDy[c]!) / P - u[c]! * mean[c]!;
  }
  simd.fns.affine2(simd.ptr(t.dy), simd.ptr(t.x), simd.ptr(t.dx), P, C, kP, uP, vP);
  simd.free(block);
}

/** d/dx of x * s with s = sigmoid(x) is s * (1 + x * (1 - s)); s comes from the forward pass, so no exp here. */
function swishGrad(args: { inputs: tf.NamedTensorInfoMap; backend: BackendWasm }): tf.TensorInfo {
  const { backend } = args;
  const { dy: dyI, x: xI, s: sI } = args.inputs as Record<string, tf.TensorInfo>;
  const dxI = backend.makeOutput(xI!.shape, 'float32');
  const simd = simdKernels(backend);
  if (simd) {
    simd.fns.swishGrad(simd.ptr(dyI!), simd.ptr(xI!), simd.ptr(sI!), simd.ptr(dxI), tf.util.sizeFromShape(xI!.shape));
    return dxI;
  }
  const x = f32(backend, xI!);
  const sg = f32(backend, sI!);
  const dy = f32(backend, dyI!);
  const dx = f32(backend, dxI);
  for (let i = 0; i < x.length; i++) {
    const s = sg[i]!;
    dx[i] = dy[i]! * s * (1 + x[i]! * (1 - s));
  }
  return dxI;
}

/** Batch norm in training mode as one op: returns y and keeps the batch mean and variance for the moving averages. */
function fusedBatchNormTraining(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  let stats: [tf.Tensor, tf.Tensor] | undefined;
  // customGrad passes inputs then the save function through one untyped rest parameter.
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, gamma, beta, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [y, mean, variance] = tf.engine().runKernel(BN_TRAIN, { x, gamma, beta }, { epsilon }) as tf.Tensor[];
    save([x, gamma, mean!, variance!]);
    stats = [tf.keep(mean!.clone()), tf.keep(variance!.clone())];
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sg, sm, sv] = saved;
        return tf.engine().runKernel(BN_TRAIN_GRAD, { dy, x: sx!, gamma: sg!, mean: sm!, variance: sv! }, { epsilon }) as tf.Tensor[];
      },
    };
  });
  const y = op(x, gamma, beta);
  return { y, mean: stats![0], variance: stats![1] };
}

function fusedSwish(x: tf.Tensor): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    // The forward pass stays on the backend's native Sigmoid and Multiply (its exp is far faster than JS's Math.exp).
    const s = tf.sigmoid(x);
    save([x, s]);
    return {
      value: tf.mul(x, s),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.engine().runKernel(SWISH_GRAD, { dy, x: saved[0]!, s: saved[1]! }) as tf.Tensor,
    };
  });
  return op(x);
}

/** The parts of tfjs-layers' BatchNormalization this module reads (its fields are not in the public typings). */
interface BatchNormLayer {
  axis: number;
  epsilon: number;
  momentum: number;
  center: boolean;
  scale: boolean;
  gamma: { read(): tf.Tensor } | null;
  beta: { read(): tf.Tensor } | null;
  movingMean: { read(): tf.Tensor; write(t: tf.Tensor): void };
  movingVariance: { read(): tf.Tensor; write(t: tf.Tensor): void };
}
type LayerCall = (this: BatchNormLayer, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];
type ActivationApply = (this: unknown, x: tf.Tensor, alpha?: number) => tf.Tensor;

/** The parts of tfjs-layers' Conv2D this module reads. */
interface ConvLayer {
  rank: number;
  bias: unknown;
  activation: { getClassName(): string };
  dataFormat: string;
  padding: string;
  strides: [number, number];
  dilationRate: [number, number];
  kernel: { read(): tf.Tensor };
}

/** The prototype on `obj`'s chain that defines `key` itself (tfjs-layers defines call on Conv, Conv2D's parent). */
function prototypeOwning(obj: object, key: string): object {
  for (let p = Object.getPrototypeOf(obj) as object | null; p; p = Object.getPrototypeOf(p) as object | null) {
    if (Object.prototype.hasOwnProperty.call(p, key)) return p;
  }
  throw new Error(`no prototype of ${obj.constructor.name} defines ${key}`);
}

let installed = false;

/** Wraps BatchNormalization.call, Conv2D's call and the swish activation once; later calls do nothing. */
export function installWasmFusedLayers(): void {
  if (installed) return;
  installed = true;
  for (const [name, kernelFunc] of [
    [BN_TRAIN, batchNormTrain],
    [BN_TRAIN_GRAD, batchNormTrainGrad],
    [SWISH_GRAD, swishGrad],
  ] as const) {
    // Our kernels take the wasm backend's concrete type; tfjs' KernelFunc is typed loosely.
    if (!tf.getKernel(name, 'wasm')) tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }

  const bnProto = Object.getPrototypeOf(tf.layers.batchNormalization({})) as { call: LayerCall };
  const originalCall = bnProto.call;
  bnProto.call = function (this: BatchNormLayer, inputs, kwargs) {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const lastAxis = this.axis === -1 || this.axis === x.rank - 1;
    if (kwargs?.training !== true || tf.getBackend() !== 'wasm' || !lastAxis || x.dtype !== 'float32' || !this.gamma || !this.beta) {
      return originalCall.call(this, inputs, kwargs);
    }
    return tf.tidy(() => {
      const { y, mean, variance } = fusedBatchNormTraining(x, this.gamma!.read(), this.beta!.read(), this.epsilon);
      // The moving averages, as tfjs-layers updates them: v -= (v - batch) * (1 - momentum).
      for (const [v, batch] of [[this.movingMean, mean], [this.movingVariance, variance]] as const) {
        tf.tidy(() => {
          const orig = v.read();
          v.write(tf.sub(orig, tf.mul(tf.sub(orig, batch), 1 - this.momentum)));
        });
      }
      tf.dispose([mean, variance]);
      return y;
    });
  };

  // A 2-D conv with neither bias nor activation runs as tf.conv2d rather than tfjs-layers'
  // tf.fused.conv2d: the fused op's gradient returns the input and filter gradients together,
  // so the stem's input gradient (nothing needs the image's gradient) was computed and thrown
  // away, ~20 ms of a 96 px step. tf.conv2d's gradient computes only what the tape asks for.
  const convProto = prototypeOwning(tf.layers.conv2d({ filters: 1, kernelSize: 1 }), 'call') as { call: (this: ConvLayer, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[] };
  const originalConvCall = convProto.call;
  convProto.call = function (this: ConvLayer, inputs, kwargs) {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const plain = this.rank === 2 && this.bias == null && this.activation.getClassName() === 'linear' && this.dataFormat === 'channelsLast';
    if (!plain || tf.getBackend() !== 'wasm' || (x.rank !== 3 && x.rank !== 4) || (this.padding !== 'same' && this.padding !== 'valid')) {
      return originalConvCall.call(this, inputs, kwargs);
    }
    return tf.tidy(() => tf.conv2d(x as tf.Tensor4D, this.kernel.read() as tf.Tensor4D, this.strides, this.padding as 'same' | 'valid', 'NHWC', this.dilationRate));
  };

  const swishLayer = tf.layers.activation({ activation: 'swish' }) as unknown as { activation: object };
  const swishProto = Object.getPrototypeOf(swishLayer.activation) as { apply: ActivationApply };
  const originalApply = swishProto.apply;
  swishProto.apply = function (x, alpha = 1) {
    if (alpha !== 1 || tf.getBackend() !== 'wasm' || x.dtype !== 'float32') return originalApply.call(this, x, alpha);
    return fusedSwish(x);
  };
}
