// Test rig for the data stages: a temp project with config files, images written with sharp, and the real stage run as a child process.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { parse as parseYaml } from 'yaml';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** A temp project holding copies of the real config/colors.json and config/target_parts.json. */
export function tempProject(prefix: string): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(root, 'config'));
  for (const f of ['colors.json', 'target_parts.json']) copyFileSync(join(REPO, 'config', f), join(root, 'config', f));
  return root;
}

export function writeFile(root: string, rel: string, data: string | Buffer): string {
  const file = join(root, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, data);
  return file;
}

/** A distinct image (its content derives from `seed`): random-ish pixels so every seed hashes differently. */
export async function imageBytes(seed: number, size = 48, format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const px = Buffer.alloc(size * size * 3);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < px.length; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    px[i] = s & 255;
  }
  const img = sharp(px, { raw: { width: size, height: size, channels: 3 } });
  return format === 'png' ? img.png().toBuffer() : img.jpeg().toBuffer();
}

export async function writeImage(root: string, rel: string, seed: number, size = 48): Promise<string> {
  return writeFile(root, rel, await imageBytes(seed, size, rel.endsWith('.png') ? 'png' : 'jpeg'));
}

/** The repo's config/data.yaml, parsed, for tests to tweak. */
export function repoDataConfig(): Record<string, unknown> {
  return parseYaml(readRepoFile('config/data.yaml')) as Record<string, unknown>;
}

function readRepoFile(rel: string): string {
  return readFileSync(join(REPO, rel), 'utf8');
}

export interface StageRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs stages/<name>.ts as the engine would: cwd = project root, PIPELINE_* env, params given.
 * `timeoutMs` kills it (status null) instead of letting a hang hang the suite.
 */
export function runStage(root: string, name: 'synth' | 'filter', params: Record<string, unknown>, outs: string[], timeoutMs?: number): StageRun {
  const r = spawnSync(process.execPath, ['--import', TSX, join(REPO, 'stages', `${name}.ts`)], {
    cwd: root,
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    env: {
      ...process.env,
      PIPELINE_STAGE: name,
      PIPELINE_ROOT: root,
      PIPELINE_PARAMS: JSON.stringify({ 'config/data.yaml': params }),
      PIPELINE_DEPS: '[]',
      PIPELINE_OUTS: JSON.stringify(outs),
      PIPELINE_METRICS: '',
    },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the real CLI (bin/pipeline.js) in `cwd`. */
export function runCli(cwd: string, args: string[]): StageRun {
  const r = spawnSync(process.execPath, [join(REPO, 'bin/pipeline.js'), ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
