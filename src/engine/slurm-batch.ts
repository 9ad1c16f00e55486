// What a stage becomes on Slurm: the batch script (cd into the project, export the stage's
// environment contract, run its command) and the sbatch arguments from its `executor:`.
import type { SlurmOptions } from './pipeline-config.ts';

/** Quotes `s` for /bin/sh, whatever it holds. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface BatchScriptInput {
  /** Absolute project root: the same path on the compute node (a shared filesystem). */
  root: string;
  stage: string;
  /** The PIPELINE_* variables of contracts.md. */
  env: Record<string, string>;
  /** The stage's argv, as run locally. */
  command: { file: string; args: string[] };
  /** Absolute file the job writes its id and host into once it stands in the project folder. */
  startedFile: string;
}

/**
 * A POSIX sh batch script. The job proves it reached the project folder by writing
 * `startedFile` there (the runner reads it back), so a project that is not on a shared
 * filesystem is reported as such rather than as a mysterious failure.
 */
export function batchScript(input: BatchScriptInput): string {
  const [file, ...args] = [input.command.file, ...input.command.args].map(shellQuote);
  const lines = [
    '#!/bin/sh',
    `# brickflow: stage "${input.stage}" (written by pipeline run; sbatch keeps its own copy)`,
    `cd ${shellQuote(input.root)} || {`,
    `  echo "brickflow: the project folder ${input.root.replace(/["$`\\]/g, '\\$&')} does not exist on $(hostname); Slurm runs the stage at the same path there, so it must be on a filesystem the compute nodes share" >&2`,
    '  exit 1',
    '}',
    `echo "$SLURM_JOB_ID $(hostname)" > ${shellQuote(input.startedFile)}`,
    ...Object.entries(input.env).map(([k, v]) => `export ${k}=${shellQuote(v)}`),
    // The runner's node binary when the node has it at the same path, else the node on PATH.
    `STAGE_BIN=${file}`,
    '[ -x "$STAGE_BIN" ] || STAGE_BIN=node',
    `exec "$STAGE_BIN" ${args.join(' ')}`,
    '',
  ];
  return lines.join('\n');
}

/** sbatch's arguments for a stage's job (before the script path). */
export function sbatchArgs(stage: string, opts: SlurmOptions, files: { out: string; err: string }): string[] {
  const args = ['--parsable', `--job-name=brickflow-${stage}`, `--output=${files.out}`, `--error=${files.err}`];
  if (opts.partition !== undefined) args.push(`--partition=${opts.partition}`);
  if (opts.account !== undefined) args.push(`--account=${opts.account}`);
  if (opts.cpus !== undefined) args.push(`--cpus-per-task=${opts.cpus}`);
  if (opts.gpus !== undefined) args.push(`--gpus=${opts.gpus}`);
  if (opts.mem !== undefined) args.push(`--mem=${opts.mem}`);
  if (opts.time !== undefined) args.push(`--time=${opts.time}`);
  return [...args, ...opts.extraArgs];
}
