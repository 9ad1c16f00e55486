// Keys of the cache's blobs: a blob holds one source image's pixels at one resolution, K
// augmented variants for training or the plain resize for val/test, and its key changes
// exactly when those pixels would.
import { createHash } from 'node:crypto';
import type { AugmentConfig } from './config.ts';

/** Bump when the resize or an augmentation kernel changes its output. */
export const CACHE_FORMAT = 2;

export type BlobKind = 'augmented' | 'resized';

/**
 * What decides a blob's bytes. Keys are sorted so equal settings hash equally. `code` is the
 * engine's hash of the stage's code (PIPELINE_CODE_FINGERPRINT): editing a kernel remakes
 * the blobs even when nobody bumps CACHE_FORMAT.
 */
export function blobKey(kind: BlobKind, sha256: string, size: number, config: AugmentConfig, code = ''): string {
  const parts: Record<string, unknown> = { format: CACHE_FORMAT, kind, sha256, size, ...(code ? { code } : {}) };
  // Val/test resizes do not depend on the augmentation settings: changing them keeps those.
  if (kind === 'augmented') Object.assign(parts, { ops: config.ops, seed: config.seed, variants: config.variants });
  return createHash('sha256').update(stableJson(parts)).digest('hex');
}

/** Hash of the settings that change augmented pixels (reported in the index). */
export function augmentParamsHash(config: AugmentConfig): string {
  return createHash('sha256').update(stableJson({ format: CACHE_FORMAT, ops: config.ops, seed: config.seed, variants: config.variants })).digest('hex').slice(0, 16);
}

/** JSON with object keys sorted at every depth. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj).sort().map((k) => `${JSON.stringify(k)}:${stableJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
