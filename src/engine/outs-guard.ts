// Keeps a stage's previous outs safe while it runs: moved aside (rename, same file system)
// before it starts, dropped when it succeeds, put back when it fails or the runner dies.
// A journal written before the first move lets the next run finish an interrupted restore;
// it also names the stage's Slurm job, so the next run cancels a job the killed runner left.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

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
  /** The stage's Slurm job, once submitted. */
  slurmJob?: string;
}

export interface GuardedOuts {
  /** The stage was submitted as Slurm job `jobId`. */
  recordSlurmJob(jobId: string): void;
  /** The stage succeeded: forget the old outs. */
  commit(): void;
  /** The stage failed or was interrupted: remove what it wrote, put the old outs back. */
  restore(): void;
}

/** Moves non-persist outs of `stage` to `<asideRoot>/<stage>/`. */
export function guardOuts(root: string, asideRoot: string, stage: string, outs: readonly string[]): GuardedOuts {
  const dir = join(asideRoot, stage);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const journal: Journal = { outs: outs.map((path, i) => ({ path, aside: `out-${i}`, existed: existsSync(join(root, path)) })) };
  writeFileSync(join(dir, 'journal.json'), JSON.stringify(journal));
  for (const e of journal.outs) {
    if (e.existed) renameSync(join(root, e.path), join(dir, e.aside));
    mkdirSync(dirname(join(root, e.path)), { recursive: true });
  }
  return {
    recordSlurmJob: (jobId) => {
      journal.slurmJob = jobId;
      writeFileSync(join(dir, 'journal.json'), JSON.stringify(journal));
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

/** Restores every stage left aside by a runner that was killed; returns their names. */
export function recoverInterrupted(root: string, asideRoot: string): string[] {
  if (!existsSync(asideRoot)) return [];
  const recovered: string[] = [];
  for (const stage of readdirSync(asideRoot)) {
    const dir = join(asideRoot, stage);
    const journal = readJournal(dir);
    if (!journal) {
      // No journal: the runner died before moving anything.
      rmSync(dir, { recursive: true, force: true });
      continue;
    }
    restoreFrom(root, dir, journal.outs);
    recovered.push(stage);
  }
  return recovered;
}

function readJournal(dir: string): Journal | undefined {
  try {
    const parsed = JSON.parse(readFileSync(join(dir, 'journal.json'), 'utf8')) as Journal | JournalEntry[];
    return Array.isArray(parsed) ? { outs: parsed } : parsed; // an array: the journal before Slurm jobs
  } catch {
    return undefined;
  }
}

/** The Slurm jobs named in journals: stages running on Slurm, or left there by a killed runner. */
export function journaledSlurmJobs(asideRoot: string): { stage: string; jobId: string }[] {
  if (!existsSync(asideRoot)) return [];
  return readdirSync(asideRoot)
    .sort()
    .flatMap((stage) => {
      const jobId = readJournal(join(asideRoot, stage))?.slurmJob;
      return jobId ? [{ stage, jobId }] : [];
    });
}
