// Keeps a stage's previous outs safe while it runs: moved aside (rename, same file system)
// before it starts, dropped when it succeeds, put back when it fails or the runner dies.
// A journal written before the first move lets the next run finish an interrupted restore;
// it also names the stage's process group or Slurm job, so the next run first stops a stage
// that outlived a killed runner (it would otherwise overwrite the outs later).
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { atomicWrite } from './atomic-write.ts';
import { processStartTime } from './process-identity.ts';
import { stopProcessGroup } from './stage-process.ts';

interface JournalEntry {
  /** Project-relative out path. */
  path: string;
  /** File name of the aside copy inside the stage's aside folder. */
  aside: string;
  /** Whether there was a previous out to keep (otherwise a failed run's partial out is removed). */
  existed: boolean;
}

interface Journal {
  outs: JournalEntry[];
  /** The running stage's process group (its leader's pid and start time), once started. */
  processGroup?: { pgid: number; startTime: string | undefined };
  /**
   * The stage's Slurm job: its unique name and working folder, written before `sbatch` (so a
   * runner killed before it learns the id still leaves a way to find the job), then its id.
   */
  slurmJob?: SlurmJobRecord | string;
}

/** What a journal knows of a stage's Slurm job. */
export interface SlurmJobRecord {
  /** `--job-name`, unique to this submission. */
  name: string;
  /** The folder the job was submitted from (squeue's WORK_DIR), the project root. */
  workdir: string;
  /** Slurm's job id, once sbatch has printed it. */
  id?: string;
}

export interface GuardedOuts {
  /** The stage is about to be submitted to Slurm (`id` absent), or was, as job `id`. */
  recordSlurmJob(job: SlurmJobRecord): void;
  /** The stage's process started as the leader of process group `pgid`. */
  recordProcessGroup(pgid: number): void;
  /** The stage succeeded: forget the old outs. */
  commit(): void;
  /** The stage failed or was interrupted: remove what it wrote, put the old outs back. */
  restore(): void;
}

const JOURNAL = 'journal.json';

/** Moves non-persist outs of `stage` to `<asideRoot>/<stage>/`. */
export function guardOuts(root: string, asideRoot: string, stage: string, outs: readonly string[]): GuardedOuts {
  const dir = join(asideRoot, stage);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const journal: Journal = { outs: outs.map((path, i) => ({ path, aside: `out-${i}`, existed: existsSync(join(root, path)) })) };
  atomicWrite(join(dir, JOURNAL), JSON.stringify(journal));
  for (const e of journal.outs) {
    if (e.existed) renameSync(join(root, e.path), join(dir, e.aside));
    mkdirSync(dirname(join(root, e.path)), { recursive: true });
  }
  return {
    recordSlurmJob: (job) => {
      journal.slurmJob = job;
      try {
        atomicWrite(join(dir, JOURNAL), JSON.stringify(journal));
      } catch {
        // Disk full: as for a process group, only cancelling a job a killed runner left is lost.
      }
    },
    recordProcessGroup: (pgid) => {
      journal.processGroup = { pgid, startTime: processStartTime(pgid) };
      try {
        atomicWrite(join(dir, JOURNAL), JSON.stringify(journal));
      } catch {
        // Disk full: the journal written before the moves still restores the outs; only
        // stopping a stage that outlives a killed runner is lost.
      }
    },
    commit: () => rmSync(dir, { recursive: true, force: true }),
    restore: () => restoreFrom(root, dir, journal.outs),
  };
}

function restoreFrom(root: string, dir: string, entries: JournalEntry[]): void {
  for (const e of entries) {
    const target = join(root, e.path);
    const aside = join(dir, e.aside);
    if (existsSync(aside)) {
      rmSync(target, { recursive: true, force: true });
      renameSync(aside, target);
    } else if (!e.existed) {
      rmSync(target, { recursive: true, force: true });
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

function readJournal(dir: string): Journal | undefined {
  try {
    const parsed = JSON.parse(readFileSync(join(dir, JOURNAL), 'utf8')) as Journal | JournalEntry[];
    return Array.isArray(parsed) ? { outs: parsed } : parsed; // an array: the journal before process groups
  } catch {
    return undefined;
  }
}

/** Stages whose outs an interrupted run left aside (the next run restores them). */
export function interruptedStages(asideRoot: string): string[] {
  if (!existsSync(asideRoot)) return [];
  return readdirSync(asideRoot).filter((stage) => readJournal(join(asideRoot, stage)) !== undefined).sort();
}

export interface Recovery {
  /** Stages whose previous outs were put back. */
  stages: string[];
  /** Stages whose processes were still running and were stopped first. */
  stopped: string[];
}

/**
 * Restores every stage left aside by a runner that was killed, after stopping its still
 * running process group (SIGTERM, then SIGKILL after `graceMs`).
 */
export async function recoverInterrupted(root: string, asideRoot: string, graceMs = 5000): Promise<Recovery> {
  const recovery: Recovery = { stages: [], stopped: [] };
  if (!existsSync(asideRoot)) return recovery;
  for (const stage of readdirSync(asideRoot).sort()) {
    const dir = join(asideRoot, stage);
    const journal = readJournal(dir);
    if (!journal) {
      // No journal: the runner died before moving anything.
      rmSync(dir, { recursive: true, force: true });
      continue;
    }
    if (journal.processGroup && (await stopProcessGroup(journal.processGroup.pgid, journal.processGroup.startTime, graceMs))) {
      recovery.stopped.push(stage);
    }
    restoreFrom(root, dir, journal.outs);
    recovery.stages.push(stage);
  }
  return recovery;
}

/** The Slurm jobs named in journals: stages running on Slurm, or left there by a killed runner. */
export function journaledSlurmJobs(asideRoot: string): { stage: string; job: SlurmJobRecord }[] {
  if (!existsSync(asideRoot)) return [];
  return readdirSync(asideRoot)
    .sort()
    .flatMap((stage) => {
      const job = readJournal(join(asideRoot, stage))?.slurmJob;
      // A plain id: a journal written before jobs were named.
      if (typeof job === 'string') return [{ stage, job: { name: '', workdir: '', id: job } }];
      return job ? [{ stage, job }] : [];
    });
}
