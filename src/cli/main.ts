// The `pipeline` command: parses argv, loads the project, dispatches to an engine command
// or to src/cli/commands/<name>.ts, and maps every outcome to an exit code (DESIGN.md).
import { processOutput, type Output } from '../engine/console-reporter.ts';
import { formatDiagnostic } from '../engine/diagnostic.ts';
import { EngineStateError } from '../engine/engine-error.ts';
import { openProject } from '../engine/project.ts';
import { externalCommandHelp, loadExternalCommand } from './external-commands.ts';
import { ENGINE_COMMANDS, optionHelp, parseArgs, type EngineCommand } from './options.ts';
import { dagCommand, gatesCommand, metricsCommand, reportCommand, statusCommand } from './report-commands.ts';
import { EXIT, runCommand } from './run-command.ts';

const USAGE = `usage: pipeline <command> [options]

commands:
  run [STAGE]   run what is stale (STAGE: it and what it depends on)
  status        which stages are stale, and why
  dag           the stages and their edges (--mermaid for a flowchart)
  watch         rerun what becomes stale when inputs change
  gates         check the gates against the current metrics (--format text|json|junit|markdown)
  metrics       print metrics (--diff [REV]: compare with a git revision; --format text|json|markdown)
  report        a markdown report for a pull request: what changed since --base REV
  push [STAGE…] send the run-cache entries pipeline.lock records to the remote
  pull [STAGE…] fetch what pipeline.lock records from the run cache into the workspace
  cache gc      drop local run-cache entries no recent pipeline.lock refers to`;

async function helpText(): Promise<string> {
  const extra = await externalCommandHelp();
  return `${USAGE}\n${extra.length > 0 ? `${extra.join('\n')}\n` : ''}\noptions:\n${optionHelp()}\n\nexit codes: 0 done, 1 a stage failed, 2 bad config or usage, 3 a gate failed, 4 another run holds the lock\n`;
}

export async function main(argv: string[], output: Output = processOutput): Promise<number> {
  try {
    return await dispatch(argv, output);
  } catch (err) {
    // Bad engine state (a damaged pipeline.lock, a full disk) is a sentence, not a stack.
    if (!(err instanceof EngineStateError)) throw err;
    output.err(err.format());
    return EXIT.usage;
  }
}

async function dispatch(argv: string[], output: Output): Promise<number> {
  const parsed = parseArgs(argv);
  if (!parsed.ok) {
    output.err(`error: ${parsed.error}\nrun "pipeline --help" for the options\n`);
    return EXIT.usage;
  }
  const { command, positionals, options } = parsed;
  if (options.help || command === 'help' || command === undefined) {
    output.out(await helpText());
    return command === undefined && !options.help ? EXIT.usage : EXIT.ok;
  }
  if (!(ENGINE_COMMANDS as readonly string[]).includes(command)) {
    const external = await loadExternalCommand(command);
    if (!external) {
      output.err(`error: unknown command "${command}"\nrun "pipeline --help" for the commands\n`);
      return EXIT.usage;
    }
    return external.run(parsed.rest);
  }
  const cmd = command as EngineCommand;
  const maxPositionals = cmd === 'run' || cmd === 'cache' ? 1 : cmd === 'push' || cmd === 'pull' ? Infinity : 0;
  if (positionals.length > maxPositionals) {
    output.err(`error: unexpected argument "${positionals[maxPositionals]}" for "${cmd}"\n`);
    return EXIT.usage;
  }

  const project = openProject(options.file);
  if (!project.ok) {
    for (const d of project.error) output.err(`${formatDiagnostic(d)}\n`);
    return EXIT.usage;
  }
  switch (cmd) {
    case 'run':
      return runCommand(project.value, positionals[0], options, output);
    case 'status':
      return statusCommand(project.value, options, output);
    case 'dag':
      return dagCommand(project.value, options, output);
    case 'gates':
      return gatesCommand(project.value, options, output);
    case 'metrics':
      return metricsCommand(project.value, options, output);
    case 'report':
      return reportCommand(project.value, options, output);
    case 'watch': {
      const { watchCommand } = await import('./watch-command.ts');
      return watchCommand(project.value, options, output);
    }
    case 'push':
    case 'pull':
    case 'cache': {
      const { cacheCommand, pullCommand, pushCommand } = await import('./cache-commands.ts');
      if (cmd === 'cache') return cacheCommand(project.value, positionals[0], options, output);
      return (cmd === 'push' ? pushCommand : pullCommand)(project.value, positionals, options, output);
    }
    case 'help':
      return EXIT.ok;
    default: {
      const never: never = cmd;
      throw new Error(`unhandled command ${String(never)}`);
    }
  }
}
