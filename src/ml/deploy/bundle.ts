// Assembles the folder that becomes one version on the device: the exported model and its
// sidecar files, the device-side smoke test, the sample inputs, and SHA256SUMS over them all.
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SmokeSamples } from './smoke-samples.ts';

export interface Bundle {
  /** Local folder holding the version's files. */
  dir: string;
  /** `<UTC time>-<model sha256 prefix>`: sorts by deploy time, names the model. */
  version: string;
  modelSha256: string;
  files: Array<{ path: string; sha256: string; bytes: number }>;
  totalBytes: number;
}

const deviceScript = join(dirname(fileURLToPath(import.meta.url)), 'device', 'onnx-smoke.mjs');

/** Writes the bundle for the model in `onnxDir` into the empty folder `dir`. */
export function buildBundle(onnxDir: string, samples: SmokeSamples, dir: string, now = new Date()): Bundle {
  mkdirSync(dir, { recursive: true });
  // Timestamps are kept so rsync's --link-dest recognises unchanged files and links them.
  cpSync(onnxDir, dir, { recursive: true, preserveTimestamps: true });
  mkdirSync(join(dir, 'device'), { recursive: true });
  cpSync(deviceScript, join(dir, 'device', 'onnx-smoke.mjs'), { preserveTimestamps: true });
  mkdirSync(join(dir, 'samples'), { recursive: true });
  writeFileSync(join(dir, 'samples', 'pixels.bin'), samples.pixels);
  writeFileSync(
    join(dir, 'samples', 'samples.json'),
    JSON.stringify({
      inputName: samples.inputName, sampleShape: samples.sampleShape, count: samples.names.length, names: samples.names, origin: samples.origin,
      pixels: 'uint8 RGB HWC', mean: samples.mean, std: samples.std,
    }, null, 2),
  );
  const modelSha256 = sha256(join(dir, 'model.onnx'));
  const version = `${now.toISOString().replace(/[-:]/g, '').replace('.', '')}-${modelSha256.slice(0, 12)}`;
  writeFileSync(join(dir, 'deploy-info.json'), JSON.stringify({ version, model_sha256: modelSha256, created: now.toISOString() }, null, 2));

  const files = listFiles(dir).map((path) => ({ path, sha256: sha256(join(dir, path)), bytes: statSync(join(dir, path)).size }));
  writeFileSync(join(dir, 'SHA256SUMS'), files.map((f) => `${f.sha256}  ${f.path}\n`).join(''));
  return { dir, version, modelSha256, files, totalBytes: files.reduce((a, f) => a + f.bytes, 0) };
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Relative paths of every file under `root`, sorted. */
function listFiles(root: string, dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(root, join(dir, e.name)) : e.isFile() ? [relative(root, join(dir, e.name))] : []))
    .sort();
}
