// Everything that happens during a run, as tagged values: the runner emits them, loggers
// (terminal, watch screen, tests) decide how they look.
import type { GateResult } from './gates.ts';
import type { StaleReason } from './staleness.ts';

export type StageFailure =
  /** `diskFull`: its output named ENOSPC or the project's disk has no space left. */
  | { reason: 'exit-non-zero'; code: number; diskFull?: boolean }
  | { reason: 'killed'; signal: string }
  | { reason: 'spawn-failed'; message: string }
  | { reason: 'dep-missing'; path: string }
  | { reason: 'outs-missing'; paths: string[] }
  | { reason: 'interrupted' }
  /** The engine could not write its own state (journal, pipeline.lock): EngineStateError. */
  | { reason: 'engine-state'; message: string }
  | SlurmJobFailure;

/** A Slurm job that ended other than COMPLETED, with Slurm's own words for why. */
export interface SlurmJobFailure {
  reason: 'slurm-job';
  jobId: string;
  /** JobState: FAILED, TIMEOUT, CANCELLED, OUT_OF_MEMORY, NODE_FAIL, … */
  state: string;
  /** Slurm's Reason (NonZeroExitCode, TimeLimit, …), empty when it gives none. */
  slurmReason: string;
  /** ExitCode=code:signal of the batch script. */
  exitCode: number;
  signal: number;
  /** What the state alone cannot say (the job never reached the project folder). */
  note?: string;
}

/** `restored`: stale, but its outs came from the run cache (docs/remote-cache.md) instead of running. */
export type StageResultKind = 'ran' | 'restored' | 'fresh' | 'failed' | 'not-run';

export interface StageResult {
  stage: string;
  kind: StageResultKind;
  /** Why it ran (ran/restored/failed). */
  reason?: StaleReason;
  /** Where its outs were restored from: `local` or the remote's name (restored). */
  source?: string;
  failure?: StageFailure;
  durationMs: number;
}

export type RunEvent =
  /** Outs put back (and still running processes stopped) after a runner was killed. */
  | { type: 'recovered'; stages: string[]; stopped: string[] }
  | { type: 'stage-start'; stage: string; reason: StaleReason }
  | { type: 'stage-fresh'; stage: string }
  /** Stale, and its outs for these inputs are in the run cache `source` (local or a remote): restored, not run. */
  | { type: 'stage-restored'; stage: string; source: string; reason: StaleReason }
  /** Progress of a run-cache transfer (`verb`: pulling, pushing, restoring). */
  | { type: 'transfer'; verb: string; done: number; total: number; bytes: number }
  | { type: 'stage-output'; stage: string; stream: 'stdout' | 'stderr'; text: string }
  | { type: 'stage-done'; result: StageResult }
  | { type: 'gates'; stage: string; results: GateResult[] }
  /** `stage` starts although gates upstream of it missed (--ignore-gates). */
  | { type: 'gates-ignored'; stage: string; missed: GateResult[] }
  /** `listing`: the folder is still being listed, so `total` (files listed so far) may grow. */
  | { type: 'hashing'; done: number; total: number; listing?: boolean }
  /** Something skipped that the user should know of (a FIFO or a symlink loop in a dep folder). */
  | { type: 'warning'; message: string };

export function describeFailure(f: StageFailure): string {
  switch (f.reason) {
    case 'exit-non-zero':
      return `exited with code ${f.code}${f.diskFull ? ' (disk full: free some space on the disk that holds the project, then run again)' : ''}`;
    case 'killed':
      return `killed by ${f.signal}`;
    case 'spawn-failed':
      return `could not start: ${f.message}`;
    case 'dep-missing':
      return `dep ${f.path} does not exist and no stage run here produces it`;
    case 'outs-missing':
      return `exited 0 but did not write ${f.paths.join(', ')}`;
    case 'interrupted':
      return 'interrupted; previous outs restored';
    case 'slurm-job': {
      const exit = f.signal ? `signal ${f.signal}` : `exit code ${f.exitCode}`;
      return `slurm job ${f.jobId} ended ${f.state} (${[f.slurmReason, exit].filter(Boolean).join(', ')})${f.note ? `: ${f.note}` : ''}`;
    }
    case 'engine-state':
      return `${f.message}; previous outs restored`;
    default: {
      const never: never = f;
      return String(never);
    }
  }
}
