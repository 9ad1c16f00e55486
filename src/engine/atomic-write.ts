// The engine's one way to write a state file so that a crash or a full disk never leaves
// half a file behind: write a temp file beside the target, then move it into place. A
// failed write removes its temp file and says what to do.
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { stateWriteError } from './engine-error.ts';

/**
 * What a state file is written from: text, bytes, or parts written one after another (no
 * joined copy; a generator may make them as they are written, and throw to abandon the file).
 */
export type FileData = string | Uint8Array | Iterable<Uint8Array>;

/** Writes `data` to a new temp file beside `file` and returns its path; nothing is left on failure. */
export function writeTemp(file: string, data: FileData): string {
  // pid + random: two processes (or two writers in one) never share a temp file.
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    if (typeof data === 'string' || data instanceof Uint8Array) writeFileSync(tmp, data);
    else writeParts(tmp, data);
    return tmp;
  } catch (err) {
    rmSync(tmp, { force: true });
    throw stateWriteError(file, err);
  }
}

/** Temp file + rename: readers see the old content or the new, never a part. */
export function atomicWrite(file: string, data: FileData): void {
  const tmp = writeTemp(file, data);
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw stateWriteError(file, err);
  }
}

function writeParts(file: string, parts: Iterable<Uint8Array>): void {
  const fd = openSync(file, 'w');
  try {
    for (const part of parts) {
      for (let done = 0; done < part.length; ) done += writeSync(fd, part, done);
    }
  } finally {
    closeSync(fd);
  }
}
