/**
 * The WebAssembly SIMD loops of simd-kernels.wat, instantiated once per wasm backend on
 * that backend's own memory, so they read and write tensors where they live (pointers are
 * the tensors' heap offsets). `simdKernels(backend)` returns null when they cannot run
 * (BRICKFLOW_WASM_SIMD=0, or the backend's memory is not reachable); callers then use
 * their plain JS loops.
 */
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import type * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** The .wat's exports; every pointer is a byte offset in the backend's heap. */
export interface SimdExports {
  flush(acc32: number, acc64: number, n: number): void;
  sum2(a: number, b: number, P: number, C: number, accA: number, accB: number, scratch: number): void;
  affine(x: number, y: number, P: number, C: number, a: number, b: number): void;
  affine2(dy: number, x: number, dx: number, P: number, C: number, k: number, u: number, v: number): void;
  swishGrad(dy: number, x: number, s: number, dx: number, n: number): void;
  sum1(a: number, P: number, C: number, accA: number, scratch: number): void;
  transpose(input: number, rows: number, cols: number, out: number): void;
  adamw(w: number, g: number, m: number, v: number, wOut: number, mOut: number, vOut: number, n: number,
    b1: number, oneMinusB1: number, b2: number, oneMinusB2: number, c1: number, c2: number, eps: number, lr: number, decay: number): void;
  gemmAB(a: number, b: number, out: number, P: number, K: number, N: number): void;
  gemmAtB(x: number, dy: number, dw: number, P: number, CI: number, CO: number): void;
  depthwiseFilterRow(xRow: number, dyRow: number, acc: number, OW: number, W: number, C: number, KW: number, SW: number, DW: number, PL: number): void;
  depthwiseInputRow(dyRow: number, wRow: number, dxRow: number, OW: number, W: number, C: number, KW: number, SW: number, DW: number, PL: number): void;
}

/** The WebAssembly JS API, which this project's TypeScript lib settings do not declare. */
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  Memory: abstract new (...args: never[]) => object;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}
const WA = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/** Emscripten's module object, as far as this file uses it. */
interface EmscriptenHeap {
  asm?: { memory?: object };
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

export interface SimdKernels {
  fns: SimdExports;
  /** Heap offset of a tensor's data. */
  ptr(t: tf.TensorInfo): number;
  /** Scratch memory in the backend's heap, 16-byte aligned; `free` it when done. */
  alloc(bytes: number): number;
  free(ptr: number): void;
  /** Views of the heap, made after any allocation (growing the heap detaches older views). */
  f32(ptr: number, length: number): Float32Array;
  f64(ptr: number, length: number): Float64Array;
}

let compiled: object | undefined;
let variant: 'plain' | 'fma' | undefined;
const instances = new WeakMap<BackendWasm, SimdKernels | null>();

/**
 * The module to run: simd-kernels-fma.wasm (the GEMMs' multiply-adds fused: relaxed SIMD's
 * f32x4.relaxed_madd, ~25% faster GEMMs on this machine's CPU) where the runtime accepts it,
 * else simd-kernels.wasm. Node 20's V8 (11.3) has relaxed SIMD behind a flag, which V8 reads
 * when it compiles a module, so it is set here once, and only if the module fails to
 * validate without it (later V8s ship the feature and need nothing). relaxed_madd may round
 * once (fused) or twice, as the CPU does: results are the same run to run on one machine,
 * and may differ from another machine's in the last bits. BRICKFLOW_WASM_FMA=0 uses the
 * plain module (to measure it, or to match a machine without FMA bit for bit).
 */
function compileModule(): object {
  const plain = (): object => {
    variant = 'plain';
    return new WA.Module(readFileSync(new URL('./simd-kernels.wasm', import.meta.url)));
  };
  if (process.env.BRICKFLOW_WASM_FMA === '0') return plain();
  const fma = readFileSync(new URL('./simd-kernels-fma.wasm', import.meta.url));
  if (!WA.validate(fma)) {
    if (!process.versions.v8.startsWith('11.')) return plain(); // the flag as tested (Node 20); elsewhere, no guessing
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    if (!WA.validate(fma)) return plain();
  }
  variant = 'fma';
  return new WA.Module(fma);
}

/** Which module the SIMD kernels run ('fma': fused multiply-adds), once loaded; the profile bench prints it. */
export function simdKernelsVariant(): 'plain' | 'fma' | undefined {
  return variant;
}

function load(backend: BackendWasm): SimdKernels | null {
  const heap = backend.wasm as unknown as EmscriptenHeap;
  const memory = heap.asm?.memory;
  if (!(memory instanceof WA.Memory)) return null;
  compiled ??= compileModule();
  const instance = new WA.Instance(compiled, { env: { memory } });
  const fns = instance.exports as unknown as SimdExports;
  // malloc aligns to 8; over-allocate and round up so v128 accumulators sit on 16 bytes.
  const raw = new Map<number, number>();
  return {
    fns,
    ptr: (t) => backend.dataIdMap.get(t.dataId)!.memoryOffset,
    alloc(bytes) {
      const p = heap._malloc(bytes + 16) >>> 0;
      const aligned = (p + 15) & ~15;
      raw.set(aligned >>> 0, p);
      return aligned >>> 0;
    },
    free(ptr) {
      heap._free(raw.get(ptr)!);
      raw.delete(ptr);
    },
    f32: (ptr, length) => new Float32Array(heap.HEAPU8.buffer, ptr, length),
    f64: (ptr, length) => new Float64Array(heap.HEAPU8.buffer, ptr, length),
  };
}

/** The SIMD kernels bound to this backend's heap, or null to use the JS loops. */
export function simdKernels(backend: BackendWasm): SimdKernels | null {
  if (process.env.BRICKFLOW_WASM_SIMD === '0') return null;
  let k = instances.get(backend);
  if (k === undefined) {
    k = load(backend);
    instances.set(backend, k);
  }
  return k;
}
