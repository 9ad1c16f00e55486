// Points the device's `current` back at an earlier version that went live (`pipeline rollback`);
// history.log is the record of what went live (remote-layout.ts).
import type { DeployTarget } from './deploy-config.ts';
import { restartService, type DeployLog } from './deployer.ts';
import { LIST, SWITCH, liveVersions, parseList, rollbackTarget, type RemoteState } from './remote-layout.ts';
import { withLockedDevice } from './device-lock.ts';
import { fail, ok, type Result } from './result.ts';
import { hostLabel } from '../../ssh/ssh-options.ts';
import { runRemoteChecked } from './ssh-client.ts';

export async function listVersions(target: DeployTarget): Promise<Result<RemoteState>> {
  const listed = await runRemoteChecked(target, 'listing versions', LIST, [target.remoteDir]);
  return listed.ok ? ok(parseList(listed.value)) : listed;
}

/** Switches to `to`, or by default to the newest version older than current that went live. */
export async function rollback(target: DeployTarget, log: DeployLog, to?: string): Promise<Result<{ from: string | undefined; to: string }>> {
  return withLockedDevice(target, (line) => log.info(line), (t) => rollbackOver(t, log, to));
}

async function rollbackOver(target: DeployTarget, log: DeployLog, to?: string): Promise<Result<{ from: string | undefined; to: string }>> {
  const state = await listVersions(target);
  if (!state.ok) return state;
  const { current } = state.value;
  const live = liveVersions(state.value);
  const where = `${hostLabel(target)}:${target.remoteDir}`;
  const dest = to ?? rollbackTarget(state.value);
  if (dest === undefined) {
    return fail({
      reason: 'nothing-to-roll-back',
      message: current === undefined ? `nothing is deployed at ${where}` : `no version older than ${current} went live at ${where} (versions that did: ${live.join(', ')})`,
    });
  }
  if (!live.includes(dest)) {
    const why = state.value.versions.includes(dest) ? `${dest} never went live (history.log)` : `no complete version ${dest}`;
    return fail({ reason: 'nothing-to-roll-back', message: `${why} at ${where} (versions that went live: ${live.join(', ') || 'none'})` });
  }
  const switched = await runRemoteChecked(target, `switching current to ${dest}`, SWITCH, [target.remoteDir, dest]);
  if (!switched.ok) return switched;
  log.info(`current -> versions/${dest} (was ${current ?? 'none'})`);
  const service = await restartService(target, log);
  return service.ok ? ok({ from: current, to: dest }) : service;
}
