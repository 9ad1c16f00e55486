// One `pipeline run` at a time per project: an exclusive pid file in .pipeline/; a file
// left by a process that no longer exists is taken over.
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';

export type LockAttempt = { ok: true; release: () => void } | { ok: false; holderPid: number; file: string };

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function acquireRunLock(file: string): LockAttempt {
  mkdirSync(dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return {
        ok: true,
        release: () => {
          if (released) return;
          released = true;
          rmSync(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder = NaN;
    try {
      holder = Number.parseInt(readFileSync(file, 'utf8'), 10);
    } catch {
      continue; // removed between our open and read: try again
    }
    // A pid file being written has no pid yet; treat only a readable, live pid as a holder.
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
      return { ok: false, holderPid: holder, file };
    }
    rmSync(file, { force: true }); // stale: its process is gone
  }
  return { ok: false, holderPid: Number.parseInt(readFileSync(file, 'utf8'), 10), file };
}
