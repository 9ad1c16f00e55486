import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { copyTensorInto, tensorFromCopy } from '../../src/ml/backend/tensor-memory.ts';

describe.each(['wasm', 'cpu'])('tensor memory on %s', (backend) => {
  it('copies a tensor into a caller-owned array, and makes a tensor that does not alias the array it was given', async () => {
    await tf.setBackend(backend);
    const t = tf.range(0, 6).reshape([2, 3]).add(0.5) as tf.Tensor;
    const out = new Float32Array(10).fill(-1);
    copyTensorInto(t, out.subarray(2, 8));
    expect(Array.from(out)).toEqual([-1, -1, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, -1, -1]);
    expect(() => copyTensorInto(t, out)).toThrow('the tensor has 6 values, the destination 10');

    const made = tensorFromCopy(out.subarray(2, 8), [3, 2]);
    out.fill(0); // the caller reuses its array
    expect(made.shape).toEqual([3, 2]);
    expect(Array.from(made.dataSync())).toEqual([0.5, 1.5, 2.5, 3.5, 4.5, 5.5]);
    tf.dispose([t, made]);
  });
});

afterAll(async () => { await tf.setBackend('wasm'); });
