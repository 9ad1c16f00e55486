/**
 * Compiles simd-kernels.wat to the committed simd-kernels.wasm with the wabt package, so
 * the runtime loads plain bytes synchronously and needs no compiler; and a second binary,
 * simd-kernels-fma.wasm, in which the GEMMs' multiply-accumulates are relaxed SIMD's
 * f32x4.relaxed_madd (one fused multiply-add on CPUs with FMA, ~25% faster GEMMs here;
 * simd-kernels.ts uses it where the runtime accepts it).
 *
 *   node --import tsx src/ml/backend/build-simd-kernels.ts          # rewrite both .wasm files
 *   node --import tsx src/ml/backend/build-simd-kernels.ts --check  # exit 1 if either is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

export const WAT_PATH = fileURLToPath(new URL('./simd-kernels.wat', import.meta.url));
export const WASM_PATH = fileURLToPath(new URL('./simd-kernels.wasm', import.meta.url));
export const FMA_WASM_PATH = fileURLToPath(new URL('./simd-kernels-fma.wasm', import.meta.url));

export type SimdVariant = 'plain' | 'fma';

/**
 * The source with every register-block accumulation `acc += s * b` (accumulators are the
 * locals named $aNN, in the GEMMs) written as relaxed_madd(s, b, acc).
 */
export function withFusedMultiplyAdd(wat: string): string {
  return wat.replace(
    /\(f32x4\.add \(local\.get (\$a\d\d)\) \(f32x4\.mul (\(local\.get \$\w+\)) (\(local\.get \$\w+\))\)\)/g,
    '(f32x4.relaxed_madd $2 $3 (local.get $1))',
  );
}

/** The binary module the .wat source describes, plain or with fused multiply-adds. */
export async function compileSimdKernels(variant: SimdVariant = 'plain'): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const source = readFileSync(WAT_PATH, 'utf8');
  const text = variant === 'fma' ? withFusedMultiplyAdd(source) : source;
  const mod = wabt.parseWat('simd-kernels.wat', text, { simd: true, relaxed_simd: variant === 'fma' });
  try {
    mod.validate();
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  let stale = false;
  for (const [variant, path] of [['plain', WASM_PATH], ['fma', FMA_WASM_PATH]] as const) {
    const bytes = await compileSimdKernels(variant);
    if (process.argv.includes('--check')) {
      let current: Buffer | undefined;
      try {
        current = readFileSync(path);
      } catch {
        current = undefined;
      }
      const same = current !== undefined && Buffer.from(bytes).equals(current);
      console.log(same ? `${path} is up to date` : `${path} is stale: run this script without --check`);
      stale ||= !same;
    } else {
      writeFileSync(path, bytes);
      console.log(`wrote ${path} (${bytes.length} bytes)`);
    }
  }
  process.exitCode = stale ? 1 : 0;
}
