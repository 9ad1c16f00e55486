// Runs one stage as a child process (so a crash or OOM cannot take the runner down),
// streaming its output with a `[stage]` prefix and keeping a full log file.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SlurmJobFailure } from './event.ts';
import type { SlurmJobRecord } from './outs-guard.ts';
import type { StageDecl } from './pipeline-config.ts';
import { runSlurmJob } from './slurm-executor.ts';
import { processStartTime } from './process-identity.ts';

/** The tsx loader next to the engine, so `run:` stages work from any cwd and any project. */
const TSX_LOADER = import.meta.resolve('tsx');

export type ProcessOutcome =
  /** `output`: the last few kB the stage printed, to explain a failure (a full disk). */
  | { kind: 'exited'; code: number; output: string }
  | { kind: 'signalled'; signal: string }
  | { kind: 'spawn-failed'; message: string }
  | { kind: 'aborted' }
  | { kind: 'slurm-ended'; failure: SlurmJobFailure };

export interface StageProcessOptions {
  root: string;
  stage: StageDecl;
  /** The PIPELINE_* variables of contracts.md. */
  env: Record<string, string>;
  logFile: string;
  /** Where prefixed lines go. */
  write: (stream: 'stdout' | 'stderr', text: string) => void;
  signal?: AbortSignal;
  /** Told the child's pid (= its process group id) once it started, to journal it. */
  onSpawn?: (pgid: number) => void;
  /** Told the stage's Slurm job before it is submitted, then again with its id, to journal it. */
  onSlurmJob?: (job: SlurmJobRecord) => void;
}

/** Runs the stage where its `executor:` says (`local` forces here): a child process or a Slurm job. */
export function runStage(opts: StageProcessOptions & { local?: boolean }): Promise<ProcessOutcome> {
  const slurm = opts.local ? undefined : opts.stage.executor?.slurm;
  return slurm ? runSlurmJob(opts, slurm) : runStageProcess(opts);
}

/** The argv of a stage: `node --import tsx FILE` or the shell running `cmd`. */
export function stageCommand(stage: StageDecl): { file: string; args: string[] } {
  if (stage.run) return { file: process.execPath, args: ['--import', TSX_LOADER, stage.run] };
  return { file: '/bin/sh', args: ['-c', stage.cmd ?? 'false'] };
}

/** Splits a byte stream into lines and prefixes each; `\r` progress updates keep the prefix. */
export function prefixer(prefix: string, emit: (text: string) => void): { push(chunk: string): void; flush(): void } {
  let pending = '';
  return {
    push(chunk) {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) emit(`${prefix}${line.replace(/\r(?!$)/g, `\r${prefix}`)}\n`);
    },
    flush() {
      if (pending) emit(`${prefix}${pending}\n`);
      pending = '';
    },
  };
}

export function runStageProcess(opts: StageProcessOptions): Promise<ProcessOutcome> {
  try {
    mkdirSync(dirname(opts.logFile), { recursive: true });
  } catch {
    // A full or read-only disk: the stream's error below is ignored the same way.
  }
  const log = createWriteStream(opts.logFile);
  // A log that cannot be written (disk full) must not take the runner down; the terminal has the output.
  log.on('error', () => undefined);
  const { file, args } = stageCommand(opts.stage);
  const prefix = `[${opts.stage.name}] `;
  return new Promise((resolvePromise) => {
    const child = spawn(file, args, {
      cwd: opts.root,
      env: { ...process.env, ...opts.env, FORCE_COLOR: process.env['FORCE_COLOR'] ?? (process.stdout.isTTY ? '1' : '0') },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so stopping it also stops whatever it started (sh -c ...).
      detached: true,
    });
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    const out = prefixer(prefix, (t) => opts.write('stdout', t));
    const err = prefixer(prefix, (t) => opts.write('stderr', t));
    let tail = '';
    const keep = (c: string): void => void (tail = (tail + c).slice(-4096));
    child.stdout.setEncoding('utf8').on('data', (c: string) => (log.write(c), keep(c), out.push(c)));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (log.write(c), keep(c), err.push(c)));
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      aborted = true;
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), 5000);
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    let settled = false;
    const finish = (outcome: ProcessOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      out.flush();
      err.flush();
      if (log.closed) return resolvePromise(outcome); // it failed (and closed) already
      log.once('close', () => resolvePromise(outcome));
      log.end();
    };
    child.on('error', (e) => finish({ kind: 'spawn-failed', message: e.message }));
    child.on('close', (code, sig) => {
      if (aborted) finish({ kind: 'aborted' });
      else if (sig) finish({ kind: 'signalled', signal: sig });
      else finish({ kind: 'exited', code: code ?? 1, output: tail });
    });
  });
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Whether any process other than a zombie is in group `pgid`. */
function groupIsRunning(pgid: number): boolean {
  if (!existsSync('/proc/self/stat')) {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  // kill(-pgid, 0) also answers for zombies nobody reaps (a container without an init).
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Stops a stage's process group left running by a runner that died: SIGTERM, then SIGKILL
 * once `graceMs` passed. A group whose leader is alive under another start time is a
 * stranger that got the pid: left alone. True if something was stopped.
 */
export async function stopProcessGroup(pgid: number, startTime: string | undefined, graceMs: number): Promise<boolean> {
  if (!groupIsRunning(pgid)) return false;
  const leader = processStartTime(pgid);
  if (leader !== undefined && startTime !== undefined && leader !== startTime) return false;
  killGroup(pgid, 'SIGTERM');
  for (let waited = 0; groupIsRunning(pgid); waited += 50) {
    if (waited >= graceMs) {
      killGroup(pgid, 'SIGKILL');
      break;
    }
    await sleep(50);
  }
  for (let waited = 0; groupIsRunning(pgid) && waited < 5000; waited += 50) await sleep(50);
  return true;
}
