/**
 * The Mean gradient without tfjs-core's full-size ones tensor: tfjs-core multiplies dy by
 * ones of the input's shape, built in JavaScript and uploaded to the backend on every call
 * (each squeeze-excitation block's global average pool, every step). On wasm, for a mean
 * over the middle axes of [N, ..., C] (global pooling), dy / n is written straight into
 * every pixel; other cases keep tfjs-core's formula. Same values either way.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

const MEAN_GRAD = 'BrickflowPoolMeanGrad';

/** dy [N, C] -> dx [N, ...inner, C] with dy[n, c] / inner-size at every inner position. */
function poolMeanGrad(args: { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: { shape: number[] } }): tf.TensorInfo {
  const { backend } = args;
  const shape = args.attrs.shape;
  const dyI = args.inputs.dy!;
  const N = shape[0]!;
  const C = shape[shape.length - 1]!;
  const inner = tf.util.sizeFromShape(shape) / (N * C);
  const dxI = backend.makeOutput(shape, 'float32');
  const dy = backend.typedArrayFromHeap(dyI) as Float32Array;
  const dx = backend.typedArrayFromHeap(dxI) as Float32Array;
  for (let n = 0; n < N; n++) {
    const base = n * inner * C;
    for (let c = 0; c < C; c++) dx[base + c] = dy[n * C + c]! / inner;
    // Double the filled part until the image is full: log2(inner) memmoves instead of one per pixel.
    for (let filled = 1; filled < inner; filled *= 2) {
      const count = Math.min(filled, inner - filled);
      dx.copyWithin(base + filled * C, base, base + count * C);
    }
  }
  return dxI;
}

let registered = false;

function registerPoolMeanGradKernel(): void {
  if (registered) return;
  registered = true;
  // Our kernel takes the wasm backend's concrete type; tfjs' KernelFunc is typed loosely.
  tf.registerKernel({ kernelName: MEAN_GRAD, backendName: 'wasm', kernelFunc: poolMeanGrad as unknown as tf.KernelFunc });
}

export const broadcastMeanGradConfig: tf.GradConfig = {
  kernelName: 'Mean',
  inputsToSave: ['x'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const g = dy as tf.Tensor;
    const [x] = saved as [tf.Tensor];
    const { axis } = attrs as unknown as { axis: number | number[] };
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const reduceSize = tf.util.sizeFromShape(tf.backend_util.computeOutAndReduceShapes(x.shape, axes)[1]);
    const middle = x.rank >= 3 && axes.length === x.rank - 2 && [...axes].sort((a, b) => a - b).every((a, i) => a === i + 1);
    if (middle && tf.getBackend() === 'wasm' && x.dtype === 'float32') {
      registerPoolMeanGradKernel();
      const dy2 = tf.reshape(g, [x.shape[0]!, x.shape[x.rank - 1]!]);
      return { x: () => tf.engine().runKernel(MEAN_GRAD, { dy: dy2 }, { shape: x.shape }) as tf.Tensor };
    }
    const expandedDyShape = x.shape.slice();
    for (const a of axes) expandedDyShape[a] = 1;
    return { x: () => tf.div(tf.mul(tf.reshape(g, expandedDyShape), tf.ones(x.shape, 'float32')), reduceSize) };
  },
};
