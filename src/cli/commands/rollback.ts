// `pipeline rollback`: points the device's `current` back at an earlier deployed version, and
// tells pipeline.lock, so `status` calls deploy stale until it ships the pipeline's model again.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/load-config.ts';
import { formatDiagnostic } from '../../engine/diagnostic.ts';
import { invalidateStage } from '../../engine/lock-file.ts';
import { loadPipeline } from '../../engine/pipeline-config.ts';
import { findProjectRoot } from '../../engine/stage-context.ts';
import { parseDeploySettings } from '../../ml/deploy/deploy-config.ts';
import { consoleDeployLog } from '../../ml/deploy/progress-log.ts';
import { liveVersions } from '../../ml/deploy/remote-layout.ts';
import { listVersions, rollback } from '../../ml/deploy/rollback.ts';

export const summary = 'switch the device back to the previous deployed model (--to VERSION, --list)';

const USAGE = 'usage: pipeline rollback [--to VERSION] [--list] [--config config/deploy.yaml]';

export async function run(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({ args: argv, options: { to: { type: 'string' }, list: { type: 'boolean' }, config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    console.error(`rollback: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.values.help) {
    console.log(`${summary}\n${USAGE}`);
    return 0;
  }
  let root: string;
  try {
    root = findProjectRoot(process.cwd());
  } catch (err) {
    console.error(`rollback: ${(err as Error).message}`);
    return 2;
  }
  const configFile = args.values.config ?? 'config/deploy.yaml';
  // The file as written; the settings reader below checks it against its schema.
  const loaded = loadConfig(join(root, configFile), configFile);
  if (!loaded.ok) {
    for (const d of loaded.error) console.error(`rollback: ${formatDiagnostic(d)}`);
    return 2;
  }
  const raw = loaded.value.data;
  const settings = parseDeploySettings(raw, configFile, root);
  if (!settings.ok) {
    console.error(`rollback: ${settings.failure.message}`);
    return 2;
  }
  const target = settings.value.target;
  if (!target) {
    console.error(`rollback: no deploy target configured in ${configFile}`);
    return 2;
  }
  if (args.values.list) {
    const state = await listVersions(target);
    if (!state.ok) {
      console.error(`rollback: ${state.failure.message}`);
      return 1;
    }
    for (const v of liveVersions(state.value)) console.log(`${v === state.value.current ? '*' : ' '} ${v}`);
    return 0;
  }
  const result = await rollback(target, consoleDeployLog('rollback'), args.values.to);
  if (!result.ok) {
    console.error(`rollback: ${result.failure.message}`);
    return 1;
  }
  console.log(`rollback: ${result.value.to} is live (was ${result.value.from ?? 'none'})`);
  for (const line of recordInLock(root, configFile, result.value.to)) console.log(`rollback: ${line}`);
  return 0;
}

/**
 * The stages that deploy with `configFile` (they list it under params) no longer describe
 * the device unless `live` is the version their last run shipped (its metrics' detail.version):
 * mark them stale in pipeline.lock, or clear the mark when rolled forward to that version.
 */
function recordInLock(root: string, configFile: string, live: string): string[] {
  const pipeline = loadPipeline(join(root, 'pipeline.yaml'));
  if (!pipeline.ok) return [`pipeline.yaml could not be read, so pipeline.lock was not updated: ${pipeline.error[0]?.message ?? ''}`];
  const lockFile = join(root, 'pipeline.lock');
  const lines: string[] = [];
  for (const stage of pipeline.value.stages.filter((s) => s.params.some((p) => p.file === configFile))) {
    const shipped = stage.metrics ? shippedVersion(join(root, stage.metrics.path)) : undefined;
    const why = live === shipped ? undefined : `rolled back on the device: ${live} is live, not ${shipped ?? 'what the last run shipped'} (pipeline rollback)`;
    if (invalidateStage(lockFile, stage.name, why)) lines.push(why ? `pipeline.lock: ${stage.name} is stale until it runs again` : `pipeline.lock: ${stage.name}'s version is live again`);
  }
  return lines;
}

function shippedVersion(metricsFile: string): string | undefined {
  try {
    const version = (JSON.parse(readFileSync(metricsFile, 'utf8')) as { detail?: { version?: unknown } }).detail?.version;
    return typeof version === 'string' ? version : undefined;
  } catch {
    return undefined;
  }
}
