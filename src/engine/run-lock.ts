// One `pipeline run` at a time per project: .pipeline/run.lock names its holder as
// "<pid> <start time>". Taking it is atomic: the content is written to a temp file first
// and hard-linked into place, which fails if the lock exists, so nobody ever sees a
// half-written lock. A lock whose holder is gone (or whose pid now belongs to another
// process: the start time differs) is stale; taking it over happens under a second,
// short-lived lock (run.lock.takeover), and only if the file still names the same dead
// holder, so two runs racing for a stale lock never both win. Release removes the lock
// only if it is still ours.
import { linkSync, readFileSync, rmSync } from 'node:fs';
import { writeTemp } from './atomic-write.ts';
import { stateReadError, stateWriteError } from './engine-error.ts';
import { isSameProcessAlive, processStartTime } from './process-identity.ts';

export type LockAttempt = { ok: true; release: () => void } | { ok: false; holderPid: number; file: string };

interface Holder {
  pid: number;
  startTime: string | undefined;
  /** The file's content as read, to check it is unchanged before removing it. */
  text: string;
}

function ownIdentity(): string {
  return `${process.pid} ${processStartTime(process.pid) ?? 'unknown'}\n`;
}

/** Reads a lock file; undefined if it does not exist. */
function readHolder(file: string): Holder | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw stateReadError(file, err);
  }
  const [pid, start] = text.trim().split(/\s+/);
  // A lock written without a start time (an older version, or `echo 1 > run.lock`) names no
  // process we can recognise: it is stale.
  return { pid: Number(pid), startTime: start === undefined || start === 'unknown' ? undefined : start, text };
}

function isLive(h: Holder): boolean {
  return isSameProcessAlive(h.pid, h.startTime);
}

/** Blocks the thread for `ms`: the lock is taken before anything else runs. */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Creates `file` with `text` if it does not exist; false if it does. */
function createExclusive(file: string, text: string): boolean {
  let tmp: string;
  try {
    tmp = writeTemp(file, text);
  } catch (err) {
    throw stateWriteError(file, err);
  }
  try {
    linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw stateWriteError(file, err);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Removes `file` only while it still holds `text` (a holder can only be replaced by takeover). */
function removeIfUnchanged(file: string, text: string): void {
  const now = readHolder(file);
  if (now?.text === text) rmSync(file, { force: true });
}

/**
 * Removes the stale lock `stale` under the takeover lock; returns false when another
 * process is taking over at this moment (the caller tries again).
 */
function takeOver(file: string, stale: Holder, identity: string): boolean {
  const guard = `${file}.takeover`;
  if (!createExclusive(guard, identity)) {
    const other = readHolder(guard);
    // A takeover lasts microseconds; a guard left by a process that died during one is stale.
    if (other && !isLive(other)) removeIfUnchanged(guard, other.text);
    return false;
  }
  try {
    removeIfUnchanged(file, stale.text);
  } finally {
    removeIfUnchanged(guard, identity);
  }
  return true;
}

export function acquireRunLock(file: string): LockAttempt {
  const identity = ownIdentity();
  for (let attempt = 0; ; attempt++) {
    if (createExclusive(file, identity)) {
      let released = false;
      return {
        ok: true,
        release: () => {
          if (released) return;
          released = true;
          removeIfUnchanged(file, identity);
        },
      };
    }
    const holder = readHolder(file);
    if (holder === undefined) continue; // released between our link and read: try again
    if (isLive(holder)) return { ok: false, holderPid: holder.pid, file };
    if (takeOver(file, holder, identity)) continue;
    // Another process is taking over this very moment: give it time to finish.
    if (attempt > 500) return { ok: false, holderPid: holder.pid, file };
    pause(5);
  }
}

/** The pid of the live run holding `file`, if any (what `status` reports as "run in progress"). */
export function runLockHolder(file: string): number | undefined {
  const holder = readHolder(file);
  return holder && isLive(holder) ? holder.pid : undefined;
}
