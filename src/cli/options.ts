// The CLI's options in one typed table (as vitest's cli-config does), and argv parsing
// exported so tests can check it without running anything.
import { CI_CHOICES, type CiChoice } from './ci.ts';

export const ENGINE_COMMANDS = ['run', 'status', 'dag', 'watch', 'gates', 'metrics', 'report', 'push', 'pull', 'cache', 'help'] as const;
export type EngineCommand = (typeof ENGINE_COMMANDS)[number];

export const OUTPUT_FORMATS = ['text', 'json', 'junit', 'markdown'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface CliOptions {
  file: string;
  until?: string;
  only?: string;
  force: boolean;
  /** `run --ignore-gates`: run stages below missed gates too (recorded in pipeline.lock). */
  ignoreGates: boolean;
  dryRun: boolean;
  jobs: number;
  json: boolean;
  mermaid: boolean;
  /** `metrics --diff [REV]`: the revision to compare with. */
  diff?: string;
  /** `--format`: how gates/metrics are printed (each command says which it supports). */
  format?: OutputFormat;
  /** `--ci`: where to publish gate results besides the terminal (auto: detect from env). */
  ci: CiChoice;
  /** `report --base REV`: the revision the report compares with. */
  base: string;
  /** `report --out FILE`: where the report goes (default: stdout). */
  out?: string;
  /** `watch --quiet-ms N`: how long files must stay still before a run. */
  quietMs: number;
  /** `watch --cancel-running`: a change during a run stops it and starts over. */
  cancelRunning: boolean;
  /** `run --executor local`: run every stage here, whatever its `executor:` says. */
  executor?: 'local';
  /** `run --wait-for-slurm`: a Slurm job a killed run left is waited for instead of cancelled. */
  waitForSlurm: boolean;
  /** `watch --no-warm-start`: train from scratch as `run` does (no BRICKFLOW_WARM_START=1 for the stages). */
  noWarmStart: boolean;
  /** `--remote NAME`: the run-cache remote to use instead of `remotes.default`. */
  remote?: string;
  /** `--no-remote`: only the local run cache (.pipeline/cache). */
  noRemote: boolean;
  /** `cache gc --keep-commits N`: keep what the locks of the last N commits refer to. */
  keepCommits: number;
  help: boolean;
}

interface OptionSpec<K extends keyof CliOptions> {
  key: K;
  flag: string;
  alias?: string;
  description: string;
  /** Name of the argument shown in help; absent for switches. */
  argument?: string;
  /** The argument may be left out (then `implicit` is used). */
  optionalArgument?: { implicit: string };
  commands: readonly EngineCommand[] | 'all';
  transform?: (raw: string) => { value: CliOptions[K] } | { error: string };
}

type AnySpec = { [K in keyof CliOptions]-?: OptionSpec<K> }[keyof CliOptions];

const oneOf =
  <T extends string>(flag: string, values: readonly T[]) =>
  (raw: string): { value: T } | { error: string } =>
    (values as readonly string[]).includes(raw) ? { value: raw as T } : { error: `${flag} must be one of ${values.join(', ')}, got "${raw}"` };

const positiveInt = (flag: string) => (raw: string) => {
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? { value: n } : { error: `${flag} needs a positive whole number, got "${raw}"` };
};

export const OPTIONS: readonly AnySpec[] = [
  { key: 'file', flag: '--file', alias: '-f', argument: 'FILE', description: 'the pipeline file (default pipeline.yaml)', commands: 'all' },
  { key: 'until', flag: '--until', argument: 'STAGE', description: 'run STAGE and the stages it depends on', commands: ['run', 'watch'] },
  { key: 'only', flag: '--only', argument: 'STAGE', description: 'run STAGE alone (its deps must exist)', commands: ['run'] },
  { key: 'force', flag: '--force', description: 'run the selected stages even if fresh', commands: ['run'] },
  { key: 'ignoreGates', flag: '--ignore-gates', description: 'run stages below a failed gate too (e.g. deploy a red model); loud, recorded in pipeline.lock', commands: ['run'] },
  { key: 'dryRun', flag: '--dry-run', alias: '-n', description: 'say what would run and why, run nothing', commands: ['run'] },
  { key: 'jobs', flag: '--jobs', alias: '-j', argument: 'N', description: 'run up to N independent stages at once (default 1)', commands: ['run', 'watch'], transform: positiveInt('--jobs') },
  { key: 'executor', flag: '--executor', argument: 'local', description: "run every stage here, whatever its executor: says (to debug at home)", commands: ['run'], transform: (raw) => (raw === 'local' ? { value: 'local' } : { error: `--executor takes only "local" (a stage's executor: in pipeline.yaml says where else it runs), got "${raw}"` }) },
  { key: 'waitForSlurm', flag: '--wait-for-slurm', description: 'let a Slurm job a killed run left end on its own (e.g. to finish its checkpoints) instead of cancelling it', commands: ['run'] },
  { key: 'json', flag: '--json', description: 'machine-readable output (same as --format json)', commands: ['status', 'metrics', 'gates'] },
  { key: 'format', flag: '--format', argument: 'F', description: 'text, json, junit (gates only) or markdown', commands: ['gates', 'metrics'], transform: oneOf('--format', OUTPUT_FORMATS) },
  { key: 'ci', flag: '--ci', argument: 'CI', description: 'publish gates to CI: auto (default; GITHUB_ACTIONS / GITLAB_CI), github, gitlab or none', commands: ['run', 'gates'], transform: oneOf('--ci', CI_CHOICES) },
  { key: 'base', flag: '--base', argument: 'REV', description: 'report: the git revision to compare with (default HEAD)', commands: ['report'] },
  { key: 'out', flag: '--out', alias: '-o', argument: 'FILE', description: 'report: write the markdown to FILE (default stdout)', commands: ['report'] },
  { key: 'mermaid', flag: '--mermaid', description: 'print the DAG as a Mermaid flowchart', commands: ['dag'] },
  { key: 'diff', flag: '--diff', argument: 'REV', optionalArgument: { implicit: 'HEAD' }, description: 'compare metrics with git revision REV (default HEAD)', commands: ['metrics'] },
  { key: 'quietMs', flag: '--quiet-ms', argument: 'MS', description: 'watch: quiet period before a run (default 2000)', commands: ['watch'], transform: positiveInt('--quiet-ms') },
  { key: 'cancelRunning', flag: '--cancel-running', description: 'watch: a change during a run cancels it and starts over', commands: ['watch'] },
  { key: 'noWarmStart', flag: '--no-warm-start', description: 'watch: train from scratch instead of continuing from the last model (training.warm_start)', commands: ['watch'] },
  { key: 'remote', flag: '--remote', argument: 'NAME', description: 'the run-cache remote to use (default: remotes.default in pipeline.yaml)', commands: ['run', 'status', 'push', 'pull'] },
  { key: 'noRemote', flag: '--no-remote', description: 'use only the local run cache (.pipeline/cache)', commands: ['run', 'status', 'pull'] },
  { key: 'keepCommits', flag: '--keep-commits', argument: 'N', description: 'cache gc: keep what pipeline.lock refers to in the last N commits (default 10)', commands: ['cache'], transform: positiveInt('--keep-commits') },
  { key: 'help', flag: '--help', alias: '-h', description: 'show help', commands: 'all' },
];

export const DEFAULTS: CliOptions = { file: 'pipeline.yaml', ci: 'auto', base: 'HEAD', force: false, ignoreGates: false, dryRun: false, jobs: 1, json: false, mermaid: false, quietMs: 2000, cancelRunning: false, waitForSlurm: false, noWarmStart: false, noRemote: false, keepCommits: 10, help: false };

export type ParsedArgs =
  | { ok: true; command: string | undefined; positionals: string[]; options: CliOptions; rest: string[] }
  | { ok: false; error: string };

/** Edit distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

/**
 * Parses `argv` (without node and script). The first word is the command; options of
 * other commands are rejected. For a command that is not the engine's, everything after
 * it is passed through untouched in `rest`.
 */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const options: CliOptions = { ...DEFAULTS };
  const positionals: string[] = [];
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (command !== undefined && !(ENGINE_COMMANDS as readonly string[]).includes(command)) {
      return { ok: true, command, positionals, options, rest: argv.slice(i) };
    }
    if (!token.startsWith('-') || token === '-') {
      if (command === undefined) command = token;
      else positionals.push(token);
      continue;
    }
    const [name, inline] = token.includes('=') ? [token.slice(0, token.indexOf('=')), token.slice(token.indexOf('=') + 1)] : [token, undefined];
    const spec = OPTIONS.find((o) => o.flag === name || o.alias === name);
    if (!spec) {
      const near = OPTIONS.map((o) => o.flag).sort((a, b) => distance(name, a) - distance(name, b))[0]!;
      return { ok: false, error: `unknown option ${name}${distance(name, near) <= 3 ? ` (did you mean ${near}?)` : ''}` };
    }
    const cmd = (command ?? 'run') as EngineCommand;
    if (spec.commands !== 'all' && !spec.commands.includes(cmd)) {
      return { ok: false, error: `${spec.flag} does not apply to "${cmd}" (it is for: ${spec.commands.join(', ')})` };
    }
    let raw: string | undefined;
    if (spec.argument) {
      if (inline !== undefined) raw = inline;
      else if (spec.optionalArgument && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('-'))) raw = spec.optionalArgument.implicit;
      else if (argv[i + 1] === undefined || (argv[i + 1]!.startsWith('-') && argv[i + 1] !== '-')) return { ok: false, error: `${spec.flag} needs ${spec.argument}` };
      else raw = argv[++i]!;
      if (spec.transform) {
        const t = spec.transform(raw);
        if ('error' in t) return { ok: false, error: t.error };
        (options as unknown as Record<string, unknown>)[spec.key] = t.value;
      } else {
        (options as unknown as Record<string, unknown>)[spec.key] = raw;
      }
    } else {
      if (inline !== undefined) return { ok: false, error: `${spec.flag} takes no value` };
      (options as unknown as Record<string, unknown>)[spec.key] = true;
    }
  }
  return { ok: true, command, positionals, options, rest: [] };
}

/**
 * The format a command prints in: `--format`, or `--json` as its short form; one the
 * command cannot print is a usage error.
 */
export function outputFormat(opts: Pick<CliOptions, 'format' | 'json'>, supported: readonly OutputFormat[], command: string): { ok: true; value: OutputFormat } | { ok: false; error: string } {
  if (opts.json && opts.format !== undefined && opts.format !== 'json') {
    return { ok: false, error: `--json and --format ${opts.format} contradict each other` };
  }
  const format = opts.json ? 'json' : (opts.format ?? 'text');
  if (!supported.includes(format)) return { ok: false, error: `${command} --format ${format} is not supported (use ${supported.join(', ')})` };
  return { ok: true, value: format };
}

/** Option lines for `pipeline --help`. */
export function optionHelp(): string {
  return OPTIONS.map((o) => {
    const names = [o.alias, o.flag].filter(Boolean).join(', ') + (o.argument ? (o.optionalArgument ? ` [${o.argument}]` : ` ${o.argument}`) : '');
    const where = o.commands === 'all' ? '' : `  [${o.commands.join(', ')}]`;
    return `  ${names.padEnd(24)} ${o.description}${where}`;
  }).join('\n');
}
