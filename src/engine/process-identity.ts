// Who a process is, beyond its pid: a pid is reused once its process is gone, so a record
// of "pid 1234 started at tick T of boot B" tells a live holder from a stranger that got
// the same pid. Linux: /proc; elsewhere only the pid is known.
import { existsSync, readFileSync } from 'node:fs';

const HAS_PROC = existsSync('/proc/self/stat');

/** Boot id + start tick of `pid` (/proc/<pid>/stat field 22), or undefined if unknown or gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at "state": field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined; // a zombie has finished
    return `${bootId()}:${fields[22 - 3]}`;
  } catch {
    return undefined;
  }
}

let cachedBootId: string | undefined;
function bootId(): string {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      cachedBootId = '';
    }
  }
  return cachedBootId;
}

/** Whether a process with this pid exists (ours or another user's); the pid may have been reused. */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the process recorded as (`pid`, `startTime`) still runs; a reused pid does not count. */
export function isSameProcessAlive(pid: number, startTime: string | undefined): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || !pidExists(pid)) return false;
  // Without /proc nothing better than "the pid exists" is known.
  if (!HAS_PROC) return true;
  return startTime !== undefined && processStartTime(pid) === startTime;
}
