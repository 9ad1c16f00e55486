import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { adamWStep } from '../../src/ml/backend/fused-adamw.ts';
import { AdamW, decays } from '../../src/ml/train/adamw.ts';

const SHAPES = [[3, 3, 4, 8], [8], [7], [5, 3]]; // 7 and 15 floats: SIMD body plus a scalar tail
const CFG = { weightDecay: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };

function makeVars(tag: string): tf.Variable[] {
  return SHAPES.map((s, i) => tf.variable(tf.mul(tf.sin(tf.add(tf.range(0, tf.util.sizeFromShape(s)), i)), 0.5).reshape(s), true, `${tag}${i}`));
}
function gradsAt(step: number, vars: tf.Variable[]): tf.NamedTensorMap {
  return Object.fromEntries(vars.map((v, i) => [v.name, tf.cos(tf.add(tf.mul(tf.range(0, v.size), 0.7 + step), i)).reshape(v.shape)]));
}

describe('fused AdamW step', () => {
  it('on wasm gives the weights and moments of the project AdamW on cpu after three steps', async () => {
    const lr = 1e-2;
    await tf.setBackend('cpu');
    const ref = makeVars('ref');
    const opt = new AdamW(CFG);
    for (let t = 1; t <= 3; t++) opt.apply(ref, gradsAt(t, ref), lr);
    const refState = opt.state();
    const expected = [...ref.map((v) => v.dataSync()), ...ref.map((v) => refState[`m/${v.name}`]!.dataSync()), ...ref.map((v) => refState[`v/${v.name}`]!.dataSync())];

    await tf.setBackend('wasm');
    const vars = makeVars('fused');
    const ms = vars.map((v) => tf.variable(tf.zerosLike(v), false));
    const vs = vars.map((v) => tf.variable(tf.zerosLike(v), false));
    for (let t = 1; t <= 3; t++) {
      const grads = gradsAt(t, vars);
      vars.forEach((w, i) => adamWStep(w, grads[w.name]!, ms[i]!, vs[i]!, {
        lr, beta1: CFG.beta1, beta2: CFG.beta2, epsilon: CFG.epsilon, c1: 1 - CFG.beta1 ** t, c2: 1 - CFG.beta2 ** t,
        decay: decays(w) ? 1 - lr * CFG.weightDecay : 1,
      }));
      tf.dispose(Object.values(grads));
    }
    const got = [...vars, ...ms, ...vs].map((v) => v.dataSync());
    expect(got).toHaveLength(expected.length);
    expected.forEach((e, k) => e.forEach((x, i) => expect(got[k]![i]).toBeCloseTo(x, 6)));
    // the update moved the weights (a step that did nothing would also "match" an identity)
    expect(Math.abs(got[0]![0]! - Math.sin(0) * 0.5)).toBeGreaterThan(1e-3);
  });
});
