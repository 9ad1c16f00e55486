// Points the device's `current` back at an earlier complete version (`pipeline rollback`).
import type { DeployTarget } from './deploy-config.ts';
import { restartService, type DeployLog } from './deployer.ts';
import { LIST, SWITCH, parseList, rollbackTarget, type RemoteState } from './remote-layout.ts';
import { withLockedDevice } from './device-lock.ts';
import { fail, ok, type Result } from './result.ts';
import { hostLabel, runRemoteChecked } from './ssh-client.ts';

export async function listVersions(target: DeployTarget): Promise<Result<RemoteState>> {
  const listed = await runRemoteChecked(target, 'listing versions', LIST, [target.remoteDir]);
  return listed.ok ? ok(parseList(listed.value)) : listed;
}

/** Switches to `to`, or by default to the newest complete version older than current. */
export async function rollback(target: DeployTarget, log: DeployLog, to?: string): Promise<Result<{ from: string | undefined; to: string }>> {
  return withLockedDevice(target, (line) => log.info(line), (t) => rollbackOver(t, log, to));
}

async function rollbackOver(target: DeployTarget, log: DeployLog, to?: string): Promise<Result<{ from: string | undefined; to: string }>> {
  const state = await listVersions(target);
  if (!state.ok) return state;
  const { current, versions } = state.value;
  const where = `${hostLabel(target)}:${target.remoteDir}`;
  const dest = to ?? rollbackTarget(state.value);
  if (dest === undefined) {
    return fail({
      reason: 'nothing-to-roll-back',
      message: current === undefined ? `nothing is deployed at ${where}` : `no version older than ${current} at ${where} (versions: ${versions.join(', ')})`,
    });
  }
  if (!versions.includes(dest)) return fail({ reason: 'nothing-to-roll-back', message: `no complete version ${dest} at ${where} (versions: ${versions.join(', ') || 'none'})` });
  const switched = await runRemoteChecked(target, `switching current to ${dest}`, SWITCH, [target.remoteDir, dest, 'rollback']);
  if (!switched.ok) return switched;
  log.info(`current -> versions/${dest} (was ${current ?? 'none'})`);
  const service = await restartService(target, log);
  return service.ok ? ok({ from: current, to: dest }) : service;
}
