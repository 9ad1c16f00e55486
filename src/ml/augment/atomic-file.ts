// Atomic file writes for the persistent cache: write a temp file beside the target, then
// rename, so a reader or a killed run never sees half a file.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const TEMP_MARK = '.tmp-';

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}${TEMP_MARK}${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  writeFileSync(temp, data);
  renameSync(temp, path);
}
