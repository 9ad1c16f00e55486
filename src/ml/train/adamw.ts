/**
 * AdamW (Loshchilov & Hutter): Adam with weight decay decoupled from the gradient,
 * which tfjs does not ship. Per step t with learning rate η:
 *   m ← β1·m + (1-β1)·g,  v ← β2·v + (1-β2)·g²,  m̂ = m/(1-β1^t),  v̂ = v/(1-β2^t)
 *   θ ← θ - η·λ·θ - η·m̂/(√v̂ + ε)          (λ only for kernels, as is usual: not biases/BN)
 * The state (m, v, t) can be exported and restored, so a resumed run continues exactly.
 */
import * as tf from '@tensorflow/tfjs';
import { adamWStep } from '../backend/fused-adamw.ts';

export interface AdamWConfig {
  weightDecay: number;  // λ, the plan: 0.01
  beta1?: number;       // 0.9
  beta2?: number;       // 0.999
  epsilon?: number;     // 1e-7 (Keras' default)
}

/** Whether a variable gets weight decay: kernels (rank ≥ 2), not biases, BN scales/offsets. */
export function decays(variable: tf.Variable): boolean {
  return variable.rank >= 2;
}

export class AdamW {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  /** Steps taken so far (t of the bias correction). */
  step = 0;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;

  constructor(private readonly cfg: AdamWConfig) {
    this.beta1 = cfg.beta1 ?? 0.9;
    this.beta2 = cfg.beta2 ?? 0.999;
    this.epsilon = cfg.epsilon ?? 1e-7;
  }

  /** Apply one update to `variables` with gradients keyed by variable name. */
  apply(variables: tf.Variable[], grads: tf.NamedTensorMap, lr: number): void {
    this.step++;
    const t = this.step;
    const c1 = 1 - this.beta1 ** t;
    const c2 = 1 - this.beta2 ** t;
    for (const variable of variables) {
      const g = grads[variable.name];
      if (g == null) continue;
      const m = this.slot(this.m, variable);
      const v = this.slot(this.v, variable);
      // One op per variable: a SIMD kernel on wasm, the same formula as tf ops elsewhere.
      adamWStep(variable, g, m, v, {
        lr, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, c1, c2,
        decay: decays(variable) ? 1 - lr * this.cfg.weightDecay : 1,
      });
    }
  }

  private slot(map: Map<string, tf.Variable>, variable: tf.Variable): tf.Variable {
    let s = map.get(variable.name);
    if (!s) {
      s = tf.variable(tf.zerosLike(variable), false);
      map.set(variable.name, s);
    }
    return s;
  }

  /** The moments as named tensors (`m/<var>`, `v/<var>`) for a checkpoint. */
  state(): tf.NamedTensorMap {
    const out: tf.NamedTensorMap = {};
    for (const [k, s] of this.m) out[`m/${k}`] = s;
    for (const [k, s] of this.v) out[`v/${k}`] = s;
    return out;
  }

  /** Restore moments and the step count written by `state()`. */
  restore(tensors: tf.NamedTensorMap, step: number): void {
    this.dispose();
    for (const [key, value] of Object.entries(tensors)) {
      const [kind, ...rest] = key.split('/');
      const name = rest.join('/');
      (kind === 'm' ? this.m : this.v).set(name, tf.variable(value, false));
    }
    this.step = step;
  }

  dispose(): void {
    for (const s of [...this.m.values(), ...this.v.values()]) s.dispose();
    this.m.clear();
    this.v.clear();
  }
}
