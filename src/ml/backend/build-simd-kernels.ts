/**
 * Compiles simd-kernels.wat to the committed simd-kernels.wasm with the wabt package, so
 * the runtime loads plain bytes synchronously and needs no compiler.
 *
 *   node --import tsx src/ml/backend/build-simd-kernels.ts          # rewrite the .wasm
 *   node --import tsx src/ml/backend/build-simd-kernels.ts --check  # exit 1 if it is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

export const WAT_PATH = fileURLToPath(new URL('./simd-kernels.wat', import.meta.url));
export const WASM_PATH = fileURLToPath(new URL('./simd-kernels.wasm', import.meta.url));

/** The binary module the .wat source describes. */
export async function compileSimdKernels(): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const mod = wabt.parseWat('simd-kernels.wat', readFileSync(WAT_PATH, 'utf8'), { simd: true });
  try {
    mod.validate();
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const bytes = await compileSimdKernels();
  if (process.argv.includes('--check')) {
    const current = readFileSync(WASM_PATH);
    const same = current.length === bytes.length && current.every((b, i) => b === bytes[i]);
    console.log(same ? `${WASM_PATH} is up to date` : `${WASM_PATH} is stale: run this script without --check`);
    process.exitCode = same ? 0 : 1;
  } else {
    writeFileSync(WASM_PATH, bytes);
    console.log(`wrote ${WASM_PATH} (${bytes.length} bytes)`);
  }
}
