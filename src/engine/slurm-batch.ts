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
  /** The job's unique `--job-name`; the runner writes it into `idFile` before submitting. */
  jobName: string;
  /** Absolute file in the project that must hold `jobName` on the node: the same folder, not just the same path. */
  idFile: string;
  /** Absolute file the job writes its id and host into once it stands in the project folder. */
  startedFile: string;
}

/** `s` inside a double-quoted sh string, printed as it is. */
const inDoubleQuotes = (s: string): string => s.replace(/["$`\\]/g, '\\$&');

/**
 * A POSIX sh batch script. It checks that the project path on the node is the very folder
 * the run submitted from (it holds this job's id file: a same-named clone on an unshared
 * disk does not), then proves it by writing `startedFile` there (the runner reads it back),
 * so a project that is not on a shared filesystem is reported as such rather than as a
 * mysterious failure or, worse, a job that writes its outs into another folder.
 */
export function batchScript(input: BatchScriptInput): string {
  const [file, ...args] = [input.command.file, ...input.command.args].map(shellQuote);
  const root = inDoubleQuotes(input.root);
  const shared = 'Slurm runs the stage at the same path there, so the project must be on a filesystem the compute nodes share (docs/slurm.md)';
  const lines = [
    '#!/bin/sh',
    `# brickflow: stage "${input.stage}" (written by pipeline run; sbatch keeps its own copy)`,
    `cd ${shellQuote(input.root)} || {`,
    `  echo "brickflow: the project folder ${root} does not exist on $(hostname); ${shared}" >&2`,
    '  exit 1',
    '}',
    `if [ "$(cat ${shellQuote(input.idFile)} 2>/dev/null)" != ${shellQuote(input.jobName)} ]; then`,
    `  echo "brickflow: ${root} on $(hostname) is not the project folder the job was submitted from (${inDoubleQuotes(input.idFile)} does not hold ${inDoubleQuotes(input.jobName)}); ${shared}" >&2`,
    '  exit 1',
    'fi',
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
export function sbatchArgs(jobName: string, opts: SlurmOptions, files: { out: string; err: string }): string[] {
  const args = ['--parsable', `--job-name=${jobName}`, `--output=${files.out}`, `--error=${files.err}`];
  if (opts.partition !== undefined) args.push(`--partition=${opts.partition}`);
  if (opts.account !== undefined) args.push(`--account=${opts.account}`);
  if (opts.cpus !== undefined) args.push(`--cpus-per-task=${opts.cpus}`);
  if (opts.gpus !== undefined) args.push(`--gpus=${opts.gpus}`);
  if (opts.mem !== undefined) args.push(`--mem=${opts.mem}`);
  if (opts.time !== undefined) args.push(`--time=${opts.time}`);
  return [...args, ...opts.extraArgs];
}
