// Bad engine state (a damaged pipeline.lock, an unreadable file, a full disk) as one typed
// error the CLI prints as a sentence with what to do, exit 2, instead of a stack trace.
import { relative } from 'node:path';

export class EngineStateError extends Error {
  override readonly name = 'EngineStateError';

  constructor(
    message: string,
    /** What the user can do about it. */
    readonly hint: string,
  ) {
    super(message);
  }

  /** `error: <message>\n  <hint>` for the terminal. */
  format(): string {
    return `error: ${this.message}\n  ${this.hint}\n`;
  }
}

/** A path as the user typed it (relative to where they are) when that is shorter. */
export function shownPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** The error for a failed write of an engine state file (disk full, read-only, ...). */
export function stateWriteError(file: string, err: unknown): EngineStateError {
  const code = errnoCode(err);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new EngineStateError(`disk full: could not write ${shownPath(file)} (${code})`, 'free some space on the disk that holds the project, then run again; the previous outputs and pipeline.lock are unchanged');
  }
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
    return new EngineStateError(`cannot write ${shownPath(file)} (${code})`, 'make the project folder writable for this user, then run again');
  }
  return new EngineStateError(`could not write ${shownPath(file)}: ${(err as Error).message}`, 'check the file system holding the project, then run again');
}

/** The error for a state file that exists but cannot be read (EACCES, EISDIR, ...). */
export function stateReadError(file: string, err: unknown): EngineStateError {
  const code = errnoCode(err);
  const hint =
    code === 'EISDIR'
      ? `${shownPath(file)} is a folder; move it away (the engine expects a file there)`
      : code === 'EACCES' || code === 'EPERM'
        ? `make ${shownPath(file)} readable for this user (chmod u+r)`
        : `check ${shownPath(file)}`;
  return new EngineStateError(`cannot read ${shownPath(file)} (${code ?? (err as Error).message})`, hint);
}
