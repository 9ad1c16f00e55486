/**
 * Copies between float32 tensors and caller-owned Float32Arrays without the throw-away
 * arrays of dataSync() (a fresh copy of the tensor) and of a fresh array per tf.tensor():
 * data-parallel training moves every gradient through shared memory each step, and those
 * arrays (the model's size, twice per replica per step) kept the garbage collector busy.
 * On wasm the copies go straight from and to the backend's heap; elsewhere they fall back
 * to dataSync() and a copy of `values`.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

function wasmBackend(): BackendWasm | undefined {
  return tf.getBackend() === 'wasm' ? (tf.backend() as BackendWasm) : undefined;
}

/** Writes float32 tensor `t`'s values into `out` (exactly `t.size` long). */
export function copyTensorInto(t: tf.Tensor, out: Float32Array): void {
  if (t.dtype !== 'float32') throw new Error(`copyTensorInto: expected a float32 tensor, got ${t.dtype}`);
  if (out.length !== t.size) throw new Error(`copyTensorInto: the tensor has ${t.size} values, the destination ${out.length}`);
  const wasm = wasmBackend();
  // A view of the heap, used at once: a later allocation may grow (and detach) the heap.
  out.set(wasm ? (wasm.typedArrayFromHeap(t) as Float32Array) : (t.dataSync() as Float32Array));
}

/** A new float32 tensor holding a copy of `values`, which the caller may then overwrite. */
export function tensorFromCopy(values: Float32Array, shape: number[]): tf.Tensor {
  // wasm's write() copies into its heap at once; the cpu backend keeps the array it is given.
  return tf.tensor(wasmBackend() ? values : values.slice(), shape, 'float32');
}
