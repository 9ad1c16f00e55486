/**
 * One AdamW update of one variable as a single op: on the wasm backend a SIMD kernel
 * (simd-kernels.wat `adamw`) computes the new weights and both moments in one pass,
 * instead of the ~12 elementwise ops (each with its own tensor and engine bookkeeping)
 * that src/ml/train/adamw.ts runs per variable; ~17% of a 64 px training step went to
 * the optimizer. Same formula and order of operations; other backends run the tf ops.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { simdKernels } from './simd-kernels.ts';

const ADAMW = 'BrickflowAdamW';

export interface AdamWStep {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Bias corrections 1 - beta1^t and 1 - beta2^t. */
  c1: number;
  c2: number;
  /** The weight's factor before the step: 1 - lr * weightDecay, or 1 for variables without decay. */
  decay: number;
}

function adamwKernel(args: { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: AdamWStep }): tf.TensorInfo[] {
  const { backend, attrs: a } = args;
  const { w, g, m, v } = args.inputs as Record<'w' | 'g' | 'm' | 'v', tf.TensorInfo>;
  const outs = [w, m, v].map((t) => backend.makeOutput(t.shape, 'float32'));
  const simd = simdKernels(backend)!;
  simd.fns.adamw(
    simd.ptr(w), simd.ptr(g), simd.ptr(m), simd.ptr(v), simd.ptr(outs[0]!), simd.ptr(outs[1]!), simd.ptr(outs[2]!),
    tf.util.sizeFromShape(w.shape), a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.c1, a.c2, a.epsilon, a.lr, a.decay,
  );
  return outs;
}

let registered = false;

function canFuse(ts: tf.Tensor[]): boolean {
  if (tf.getBackend() !== 'wasm' || ts.some((t) => t.dtype !== 'float32')) return false;
  if (!registered) {
    if (!simdKernels(tf.backend() as BackendWasm)) return false;
    // Our kernel takes the wasm backend's concrete type; tfjs' KernelFunc is typed loosely.
    tf.registerKernel({ kernelName: ADAMW, backendName: 'wasm', kernelFunc: adamwKernel as unknown as tf.KernelFunc });
    registered = true;
  }
  return true;
}

/** Updates `variable`, `m` and `v` in place (by assignment) with one AdamW step for gradient `g`. */
export function adamWStep(variable: tf.Variable, g: tf.Tensor, m: tf.Variable, v: tf.Variable, p: AdamWStep): void {
  if (canFuse([variable, g, m, v])) {
    const [w2, m2, v2] = tf.engine().runKernel(ADAMW, { w: variable, g, m, v }, p as unknown as tf.NamedAttrMap) as tf.Tensor[];
    m.assign(m2!);
    v.assign(v2!);
    variable.assign(w2!);
    tf.dispose([w2!, m2!, v2!]);
    return;
  }
  tf.tidy(() => {
    const mNew = m.mul(p.beta1).add(g.mul(1 - p.beta1));
    const vNew = v.mul(p.beta2).add(g.square().mul(1 - p.beta2));
    m.assign(mNew);
    v.assign(vNew);
    const adam = mNew.div(p.c1).div(vNew.div(p.c2).sqrt().add(p.epsilon));
    const decayed = p.decay !== 1 ? variable.mul(p.decay) : variable;
    variable.assign(decayed.sub(adam.mul(p.lr)));
  });
}
