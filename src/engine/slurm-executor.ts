// Runs a stage as a Slurm batch job instead of a child process: submits it with
// `sbatch --parsable`, streams the job's output files into the run's log with the stage
// prefix while it runs, polls Slurm for its state, and `scancel`s it when the run is
// interrupted. The DAG, the lock, the outs guard and the gates stay with the runner.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, createWriteStream, existsSync, mkdirSync, openSync, readFileSync, readSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { SlurmJobFailure } from './event.ts';
import { atomicWrite } from './atomic-write.ts';
import { journaledSlurmJobs, type SlurmJobRecord } from './outs-guard.ts';
import type { SlurmOptions } from './pipeline-config.ts';
import { batchScript, sbatchArgs } from './slurm-batch.ts';
import { prefixer, stageCommand, type ProcessOutcome, type StageProcessOptions } from './stage-process.ts';

/** Job states after which Slurm runs nothing more for the job. */
const ENDED = new Set(['COMPLETED', 'FAILED', 'TIMEOUT', 'CANCELLED', 'OUT_OF_MEMORY', 'NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'SPECIAL_EXIT']);

/** How often the job's output files are read, and how often (at most) Slurm is asked for its state. */
const TAIL_MS = 250;
const POLL_MS = 1000;
/** How long Slurm may not know the job (a slurmctld restart or timeout) before the stage fails. */
const UNKNOWN_MS = 60_000;
/** How long to wait for a cancelled job to end (Slurm's KillWait is 30 s by default). */
const CANCEL_WAIT_MS = 120_000;

export interface SlurmJobState {
  /** JobState as Slurm names it: PENDING, RUNNING, COMPLETED, FAILED, TIMEOUT, … */
  state: string;
  /** Slurm's Reason (NonZeroExitCode, TimeLimit, Resources, …); empty when it gives none. */
  reason: string;
  /** The batch script's exit code and the signal that ended it (Slurm's ExitCode=code:signal). */
  exitCode: number;
  signal: number;
}

type SlurmResult = { ok: true; stdout: string } | { ok: false; message: string };

/** Runs a Slurm client command; a failure carries its stderr (or says the command is missing). */
function slurm(command: string, args: string[], cwd?: string): Promise<SlurmResult> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve({ ok: true, stdout });
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return resolve({ ok: false, message: `${command} not found: run where Slurm's commands are installed (a login node), or use run --executor local` });
      }
      resolve({ ok: false, message: (stderr.trim() || err.message).split('\n').join('; ') });
    });
  });
}

/**
 * The job's state from `scontrol show job` (Slurm keeps a finished job there for
 * MinJobAge, 300 s by default), else from `sacct` (a cluster with accounting); undefined
 * when neither knows the job.
 */
export async function slurmJobState(jobId: string): Promise<SlurmJobState | undefined> {
  const shown = await slurm('scontrol', ['show', 'job', '-o', jobId]);
  if (shown.ok) {
    const field = (name: string): string => new RegExp(`(?:^|\\s)${name}=(\\S*)`).exec(shown.stdout)?.[1] ?? '';
    const [code, signal] = field('ExitCode').split(':').map(Number);
    const reason = field('Reason');
    return { state: field('JobState'), reason: reason === 'None' ? '' : reason, exitCode: code ?? 0, signal: signal ?? 0 };
  }
  const acct = await slurm('sacct', ['-j', jobId, '-X', '-n', '-P', '-o', 'State,ExitCode']);
  const line = acct.ok ? acct.stdout.trim().split('\n')[0] : undefined;
  if (!line) return undefined;
  const [state, exit] = line.split('|');
  const [code, signal] = (exit ?? '0:0').split(':').map(Number);
  // sacct writes "CANCELLED by 0": the state is the first word.
  return { state: (state ?? '').split(' ')[0]!, reason: '', exitCode: code ?? 0, signal: signal ?? 0 };
}

function isActive(s: SlurmJobState | undefined): boolean {
  return s !== undefined && !ENDED.has(s.state);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Cancels a job and waits until Slurm has ended it (so it cannot write outs the runner is
 * about to restore). Returns whether the job was still active.
 */
export async function cancelSlurmJob(jobId: string): Promise<boolean> {
  if (!isActive(await slurmJobState(jobId))) return false;
  await slurm('scancel', [jobId]);
  const start = Date.now();
  while (isActive(await slurmJobState(jobId)) && Date.now() - start < CANCEL_WAIT_MS) await sleep(POLL_MS / 2);
  return true;
}

/** Waits until Slurm has ended the job on its own (a killed runner's job, when asked to wait). */
export async function waitForSlurmJob(jobId: string): Promise<void> {
  while (isActive(await slurmJobState(jobId))) await sleep(POLL_MS);
}

/**
 * The ids of a journaled job that Slurm still has queued or running. A journal without an
 * id (the runner died between `sbatch` and journaling the id it printed) is matched by the
 * job's unique name and its working folder in `squeue`.
 */
export async function activeSlurmJobIds(job: SlurmJobRecord): Promise<string[]> {
  if (job.id !== undefined) return isActive(await slurmJobState(job.id)) ? [job.id] : [];
  const queued = await slurm('squeue', ['-h', '-n', job.name, '-o', '%i|%Z']);
  if (!queued.ok) return [];
  return queued.stdout
    .split('\n')
    .map((line) => line.split('|'))
    .filter(([id, workdir]) => id && workdir === job.workdir)
    .map(([id]) => id!);
}

/** Reads what a file gained since the last call (the job writes it on the shared filesystem). */
class FileTail {
  private offset = 0;
  private readonly decoder = new StringDecoder('utf8');
  constructor(private readonly file: string, private readonly onText: (text: string) => void) {}

  poll(): void {
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch {
      return; // not created yet
    }
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (let n = readSync(fd, buf, 0, buf.length, this.offset); n > 0; n = readSync(fd, buf, 0, buf.length, this.offset)) {
        this.offset += n;
        this.onText(this.decoder.write(buf.subarray(0, n)));
      }
    } finally {
      closeSync(fd);
    }
  }
}

/** Submits the stage as a job and follows it to its end; `opts.signal` cancels it. */
export async function runSlurmJob(opts: StageProcessOptions, slurmOpts: SlurmOptions): Promise<ProcessOutcome> {
  const name = opts.stage.name;
  // The job's script and output files are logs too, and must be on the shared filesystem.
  const dir = join(dirname(opts.logFile), 'slurm');
  const files = { script: join(dir, `${name}.sh`), id: join(dir, `${name}.id`), out: join(dir, `${name}.out`), err: join(dir, `${name}.err`), started: join(dir, `${name}.started`) };
  // Unique per submission: how the next run finds the job if this runner dies before
  // learning its id, and what the job checks to know it stands in this very folder.
  const jobName = `brickflow-${name}-${randomBytes(4).toString('hex')}`;
  mkdirSync(dir, { recursive: true });
  for (const f of [files.out, files.err, files.started]) rmSync(f, { force: true });
  atomicWrite(files.id, jobName);
  writeFileSync(files.script, batchScript({ root: opts.root, stage: name, env: { ...opts.env, FORCE_COLOR: '0' }, command: stageCommand(opts.stage), jobName, idFile: files.id, startedFile: files.started }));

  const log = createWriteStream(opts.logFile);
  const prefix = `[${name}] `;
  const out = prefixer(prefix, (t) => opts.write('stdout', t));
  const err = prefixer(prefix, (t) => opts.write('stderr', t));
  const finish = (outcome: ProcessOutcome): Promise<ProcessOutcome> => {
    out.flush();
    err.flush();
    return new Promise((resolve) => log.end(() => resolve(outcome)));
  };
  if (opts.signal?.aborted) return finish({ kind: 'aborted' });

  // Slurm records the physical folder (getcwd), so a path through a symlink is resolved.
  const job: SlurmJobRecord = { name: jobName, workdir: realpathSync(opts.root) };
  opts.onSlurmJob?.(job); // journaled before sbatch: a kill -9 from here on leaves the job findable
  const submitted = await slurm('sbatch', [...sbatchArgs(jobName, slurmOpts, files), files.script], opts.root);
  if (!submitted.ok) return finish({ kind: 'spawn-failed', message: `sbatch: ${submitted.message.replace(/^sbatch: /, '')}` });
  const jobId = submitted.stdout.trim().split(';')[0]!; // --parsable prints "ID" or "ID;CLUSTER"
  opts.onSlurmJob?.({ ...job, id: jobId });
  err.push(`submitted as slurm job ${jobId}\n`);

  const tails = [
    new FileTail(files.out, (t) => (log.write(t), out.push(t))),
    new FileTail(files.err, (t) => (log.write(t), err.push(t))),
  ];
  const readTails = (): void => tails.forEach((t) => t.poll());
  let lastPending = '';
  let lastPoll = 0;
  let knownAt = Date.now();
  let ended: SlurmJobState | undefined;
  for (;;) {
    if (opts.signal?.aborted) {
      await cancelSlurmJob(jobId);
      readTails();
      return finish({ kind: 'aborted' });
    }
    readTails();
    if (Date.now() - lastPoll >= POLL_MS) {
      lastPoll = Date.now();
      const s = await slurmJobState(jobId);
      if (s !== undefined) {
        knownAt = Date.now();
      } else if (Date.now() - knownAt >= UNKNOWN_MS) {
        const failure: SlurmJobFailure = { reason: 'slurm-job', jobId, state: 'UNKNOWN', slurmReason: '', exitCode: 1, signal: 0, note: `neither scontrol nor sacct has known the job for ${UNKNOWN_MS / 1000} s` };
        return finish({ kind: 'slurm-ended', failure });
      }
      if (s?.state === 'PENDING' && s.reason !== lastPending) err.push(`slurm job ${jobId} is pending (${(lastPending = s.reason)})\n`);
      if (s && !isActive(s)) {
        ended = s;
        break;
      }
    }
    await sleep(TAIL_MS);
  }
  readTails();
  if (ended.state === 'COMPLETED') return finish({ kind: 'exited', code: 0, output: '' });
  const { state, reason, exitCode, signal } = ended;
  const failure: SlurmJobFailure = { reason: 'slurm-job', jobId, state, slurmReason: reason, exitCode, signal };
  if (state === 'FAILED' && !startedHere(files.started, jobId)) {
    failure.note = `the job did not start in this project folder (${opts.root} on its node is missing or is another folder): Slurm runs a stage at the same path on the compute node, so the project must be on a filesystem the nodes share (docs/slurm.md)`;
  }
  return finish({ kind: 'slurm-ended', failure });
}

/** Whether this job wrote its marker into our project folder (so it saw the same files). */
function startedHere(file: string, jobId: string): boolean {
  return existsSync(file) && readFileSync(file, 'utf8').split(' ')[0] === jobId;
}

/** Stage -> id of its Slurm job that is still queued or running (for `status`). */
export async function runningSlurmJobs(asideRoot: string): Promise<Map<string, string>> {
  const running = new Map<string, string>();
  for (const { stage, job } of journaledSlurmJobs(asideRoot)) {
    const [jobId] = await activeSlurmJobIds(job);
    if (jobId !== undefined) running.set(stage, jobId);
  }
  return running;
}
