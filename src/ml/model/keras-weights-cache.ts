/**
 * Finds the pretrained weights file that `model.pretrained` names: a path as given, or
 * `imagenet` = Keras' official efficientnetb0_notop.h5, downloaded once into the user
 * cache (~/.cache/brickflow/keras/) and checked against the hash Keras publishes.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { replaceFileSync } from '../../engine/atomic-write.ts';
import { isAbsolute, join, resolve } from 'node:path';

/** Where a pretrained file comes from and how to check it. */
export interface WeightsSource {
  url: string;
  fileName: string;
  /**
   * Keras' applications/efficientnet.py publishes an MD5 (32 hex digits; its get_file
   * picks md5 for those), not a sha256, for this file: that is what can be verified.
   */
  md5: string;
}

/** keras/src/applications/efficientnet.py: BASE_WEIGHTS_PATH + "efficientnetb0_notop.h5", WEIGHTS_HASHES["b0"][1]. */
export const IMAGENET_B0_NOTOP: WeightsSource = {
  url: 'https://storage.googleapis.com/keras-applications/efficientnetb0_notop.h5',
  fileName: 'efficientnetb0_notop.h5',
  md5: '50bc09e76180e00e4465e1a485ddc09d',
};

export interface ResolvedWeights {
  path: string;
  /** sha256 of the file, for the train stage's fingerprint and the model's metadata. */
  sha256: string;
  /** 'cache' (already there), 'download' (fetched now) or 'path' (given by the user). */
  via: 'cache' | 'download' | 'path';
}

export type ResolveResult = { ok: true; value: ResolvedWeights } | { ok: false; message: string };

export interface ResolveOptions {
  /** Folder for relative paths (the project root). */
  root: string;
  /** Default: $BRICKFLOW_CACHE, else $XDG_CACHE_HOME/brickflow, else ~/.cache/brickflow. */
  cacheDir?: string;
  source?: WeightsSource;
  timeoutMs?: number;
  /** Download progress in bytes (total may be undefined). */
  onProgress?: (received: number, total: number | undefined) => void;
}

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env['BRICKFLOW_CACHE']) return env['BRICKFLOW_CACHE'];
  return join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'brickflow');
}

/** Resolves `model.pretrained` (`imagenet` or a path) to a verified local file. */
export async function resolvePretrainedWeights(spec: string, options: ResolveOptions): Promise<ResolveResult> {
  if (spec !== 'imagenet') {
    const path = isAbsolute(spec) ? spec : resolve(options.root, spec);
    if (!existsSync(path)) return { ok: false, message: `model.pretrained: ${path} does not exist` };
    return { ok: true, value: { path, sha256: (await digest(path)).sha256, via: 'path' } };
  }
  const source = options.source ?? IMAGENET_B0_NOTOP;
  const cached = join(options.cacheDir ?? defaultCacheDir(), 'keras', source.fileName);
  const where = `put ${source.fileName} (from ${source.url}, md5 ${source.md5}) at ${cached}, or set model.pretrained to the file's path`;
  if (existsSync(cached)) {
    const sums = await digest(cached);
    if (sums.md5 === source.md5) return { ok: true, value: { path: cached, sha256: sums.sha256, via: 'cache' } };
    return { ok: false, message: `${cached} is not Keras' ${source.fileName} (md5 ${sums.md5}, expected ${source.md5}): delete it and retry, or ${where}` };
  }

  let response: Response;
  try {
    response = await fetch(source.url, { signal: AbortSignal.timeout(options.timeoutMs ?? 60_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (err as Error).message;
    return { ok: false, message: `cannot download the ImageNet weights from ${source.url} (${reason}); offline? ${where}` };
  }
  if (!response.ok || !response.body) return { ok: false, message: `downloading ${source.url} failed: HTTP ${response.status}; ${where}` };

  const total = Number(response.headers.get('content-length')) || undefined;
  const chunks: Uint8Array[] = [];
  let received = 0;
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  try {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      chunks.push(chunk);
      md5.update(chunk);
      sha256.update(chunk);
      received += chunk.length;
      options.onProgress?.(received, total);
    }
  } catch (err) {
    return { ok: false, message: `downloading ${source.url} broke off after ${received} bytes (${(err as Error).message}); ${where}` };
  }
  const gotMd5 = md5.digest('hex');
  if (gotMd5 !== source.md5) return { ok: false, message: `${source.url} gave a file with md5 ${gotMd5}, not the published ${source.md5}: not cached; ${where}` };
  replaceFileSync(cached, chunks); // a cache file is always complete
  return { ok: true, value: { path: cached, sha256: sha256.digest('hex'), via: 'download' } };
}

async function digest(path: string): Promise<{ md5: string; sha256: string }> {
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  for await (const chunk of createReadStream(path)) {
    md5.update(chunk as Buffer);
    sha256.update(chunk as Buffer);
  }
  return { md5: md5.digest('hex'), sha256: sha256.digest('hex') };
}
