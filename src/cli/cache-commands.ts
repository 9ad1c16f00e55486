// The run-cache commands: `push [STAGE…]`, `pull [STAGE…]` and `cache gc` (docs/remote-cache.md).
import { relative } from 'node:path';
import { consoleReporter, type Output } from '../engine/console-reporter.ts';
import { PathHasher } from '../engine/path-hasher.ts';
import type { StageDecl } from '../engine/pipeline-config.ts';
import type { Project } from '../engine/project.ts';
import { collectGarbage } from '../engine/remote/cache-gc.ts';
import { pullStages, pushStages, type SyncResult } from '../engine/remote/cache-sync.ts';
import { isRemoteUnavailable } from '../engine/remote/remote-unavailable.ts';
import { openRunCache, type RunCache } from '../engine/remote/run-cache.ts';
import type { CliOptions } from './options.ts';
import { EXIT, takeRunLock } from './run-command.ts';

/** The named stages (all, when none is named); an unknown name is the error. */
function namedStages(project: Project, names: readonly string[]): { ok: true; value: StageDecl[] } | { ok: false; error: string } {
  if (names.length === 0) return { ok: true, value: project.graph.order };
  const unknown = names.filter((n) => !project.pipeline.stages.some((s) => s.name === n));
  if (unknown.length > 0) return { ok: false, error: `no stage named ${unknown.map((n) => `"${n}"`).join(', ')} in ${relative(process.cwd(), project.pipeline.file)}` };
  return { ok: true, value: project.graph.order.filter((s) => names.includes(s.name)) };
}

async function withCache(
  project: Project,
  names: readonly string[],
  opts: CliOptions,
  output: Output,
  needRemote: boolean,
  body: (cache: RunCache, stages: StageDecl[], hasher: PathHasher) => Promise<SyncResult>,
): Promise<number> {
  const stages = namedStages(project, names);
  if (!stages.ok) {
    output.err(`error: ${stages.error}\n`);
    return EXIT.usage;
  }
  const report = consoleReporter(output, project.root, project.logsDir);
  const cache = openRunCache(project, opts, report);
  if (!cache.ok) {
    output.err(`${cache.error}\n`);
    return EXIT.usage;
  }
  if (needRemote && !cache.value.remoteName) {
    output.err('error: no remote to push to: configure remotes: in pipeline.yaml (docs/remote-cache.md) or pass --remote NAME\n');
    return EXIT.usage;
  }
  const hasher = new PathHasher(project.root, project.cache, report);
  try {
    const result = await body(cache.value, stages.value, hasher);
    for (const line of result.lines) (line.startsWith('x ') ? output.err : output.out)(`${line}\n`);
    return result.failed.length > 0 ? EXIT.stageFailed : EXIT.ok;
  } catch (err) {
    // An explicit push or pull must not pass quietly when the remote is down.
    if (!isRemoteUnavailable(err)) throw err;
    output.err(`error: ${err.message}\n`);
    return EXIT.stageFailed;
  } finally {
    project.cache.save();
    await cache.value.close();
  }
}

export function pushCommand(project: Project, names: readonly string[], opts: CliOptions, output: Output): Promise<number> {
  return withCache(project, names, opts, output, true, (cache, stages, hasher) => pushStages(project, cache, stages, hasher));
}

export async function pullCommand(project: Project, names: readonly string[], opts: CliOptions, output: Output): Promise<number> {
  // Pull replaces outs: not while a run is writing them.
  const lock = takeRunLock(project, output, '; pull when it is done');
  if (typeof lock === 'number') return lock;
  try {
    return await withCache(project, names, opts, output, false, (cache, stages, hasher) => pullStages(project, cache, stages, hasher));
  } finally {
    lock.release();
  }
}

export async function cacheCommand(project: Project, sub: string | undefined, opts: CliOptions, output: Output): Promise<number> {
  if (sub !== 'gc') {
    output.err(`error: ${sub === undefined ? 'cache needs a subcommand' : `unknown cache subcommand "${sub}"`}: pipeline cache gc [--keep-commits N]\n`);
    return EXIT.usage;
  }
  const cache = openRunCache(project, { noRemote: true }, consoleReporter(output, project.root, project.logsDir));
  if (!cache.ok) {
    output.err(`${cache.error}\n`);
    return EXIT.usage;
  }
  const r = await collectGarbage(project, cache.value, opts.keepCommits);
  output.out(
    `removed ${r.removedEntries} entr${r.removedEntries === 1 ? 'y' : 'ies'} and ${r.removedObjects} object(s), ${(r.removedBytes / 1e6).toFixed(1)} MB, from ${relative(process.cwd(), cache.value.dir) || cache.value.dir}; kept ${r.keptEntries} entr${r.keptEntries === 1 ? 'y' : 'ies'} that pipeline.lock refers to (working tree and ${r.commitsRead} commit(s))\n`,
  );
  return EXIT.ok;
}
