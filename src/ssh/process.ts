// Runs a local program (ssh, sftp, rsync, ssh-keyscan) and collects what it printed.
import { spawn } from 'node:child_process';

export interface ProcessOutput {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the program's stdin, which is then closed. */
  input?: string;
  /** Called with each chunk of stderr/stdout as it arrives (progress parsing). */
  onOutput?: (chunk: string) => void;
}

/** Runs `cmd args` without a shell; a missing program is a bug in the setup, so it rejects. */
export function runProcess(cmd: string, args: string[], options: RunOptions = {}): Promise<ProcessOutput> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      options.onOutput?.(d);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      options.onOutput?.(d);
    });
    child.on('error', (err) => reject(new Error(`cannot run ${cmd}: ${err.message}`)));
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    // The remote end may close stdin early (a failed connection): that is reported via the exit code.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** Quotes one word for a POSIX shell (the remote side of ssh runs one). */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
