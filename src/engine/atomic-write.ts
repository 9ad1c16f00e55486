// The project's one way to replace a file so that a crash or a full disk never leaves half a
// file under its name: write a temp file beside the target (same folder, so the rename is
// atomic), then rename it into place. A failed write removes its temp file. The engine's
// own state files use `atomicWrite`, whose errors say what to do; caches, stage outs and
// remote stores use `replaceFileSync` / `replaceFile`, whose errors are the system's.
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stateWriteError } from './engine-error.ts';

/** Every temp file ends so (after `.<pid>-<8 hex>`): sweepers and listers skip or remove it. */
export const TEMP_SUFFIX = '.tmp';

/** A new temp path beside `file`; pid + random: two processes (or two writers in one) never share one. */
export function tempPathBeside(file: string): string {
  return `${file}.${process.pid}-${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`;
}

/** True for a name `tempPathBeside` makes (a write in progress, or one a killed process left). */
export function isTempName(name: string): boolean {
  return /\.\d+-[0-9a-f]{8}\.tmp$/.test(name);
}

/**
 * What goes in a file: text, bytes, or parts written one after another (no joined copy; a
 * generator may make them as they are written, and throw to abandon the file).
 */
export type FileContent = string | Uint8Array | Iterable<Uint8Array>;

/** Writes `content` to a new temp file beside `file` and returns its path; nothing is left on failure. */
export function writeTemp(file: string, content: FileContent): string {
  const tmp = tempPathBeside(file);
  try {
    mkdirSync(dirname(file), { recursive: true });
    if (typeof content === 'string' || content instanceof Uint8Array) writeFileSync(tmp, content);
    else writeParts(tmp, content);
    return tmp;
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Temp file + rename: readers see the old content or the new, never a part. */
export function replaceFileSync(file: string, content: FileContent): void {
  const tmp = writeTemp(file, content);
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * The same, for content that comes asynchronously: `fill(tmp)` writes the temp file (a copy,
 * a download, a check of what arrived); if it throws, nothing replaces `file`.
 */
export async function replaceFile(file: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = tempPathBeside(file);
  await mkdir(dirname(file), { recursive: true });
  try {
    await fill(tmp);
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** `replaceFileSync` for the engine's state files: a failure names the file and what to do. */
export function atomicWrite(file: string, data: FileContent): void {
  try {
    replaceFileSync(file, data);
  } catch (err) {
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
