// Opens onnxruntime-node sessions and runs NHWC float batches through an exported (NCHW) model.
import * as ort from 'onnxruntime-node';

/**
 * threads = 0 lets onnxruntime use every core. `weightOnlyQdq`: the model's only QDQ nodes
 * dequantize constant weights; turning off onnxruntime's QDQ handling lets it fold them into
 * float weights once at load (measured B0 64px, 1 thread: 26 ms per image unfolded, 10 ms folded).
 */
export async function openSession(model: string | Uint8Array, threads = 0, weightOnlyQdq = false): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' };
  if (weightOnlyQdq) options.extra = { session: { disable_quant_qdq: '1' } };
  return typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options);
}

/** NHWC (tfjs, preprocess.ts) -> NCHW (the ONNX input), for `n` images of size h x w x c. */
export function nhwcToNchw(src: Float32Array, n: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(src.length);
  const plane = h * w;
  for (let b = 0; b < n; b++) {
    const base = b * plane * c;
    for (let p = 0; p < plane; p++) for (let ch = 0; ch < c; ch++) out[base + ch * plane + p] = src[base + p * c + ch];
  }
  return out;
}

/** Runs one NHWC batch and returns each output's data (row-major [n, classes]). */
export async function runNhwc(session: ort.InferenceSession, nhwc: Float32Array, n: number, size: number): Promise<Record<string, Float32Array>> {
  const input = new ort.Tensor('float32', nhwcToNchw(nhwc, n, size, size, 3), [n, 3, size, size]);
  const result = await session.run({ [session.inputNames[0]]: input });
  const out: Record<string, Float32Array> = {};
  for (const name of session.outputNames) out[name] = result[name].data as Float32Array;
  return out;
}
