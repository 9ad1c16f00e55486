// Keeps two deploys or rollbacks off the same device folder at once: flock(1) on
// <remote_dir>/.deploy.lock, held by an ssh session for as long as it stays open, so a
// killed deploy's lock goes away with its connection (no stale lock to clean up).
import { spawn } from 'node:child_process';
import type { DeployTarget } from './deploy-config.ts';
import { shellQuote } from '../../ssh/process.ts';
import { explainSshFailure } from '../../ssh/ssh-failure.ts';
import { hostLabel, sshOptions } from '../../ssh/ssh-options.ts';
import { fail, ok, type Result } from './result.ts';
import { openSharedConnection } from './ssh-client.ts';

export interface DeviceLock {
  /** False when the device has no flock(1): the deploy goes on unlocked (and says so). */
  held: boolean;
  release(): Promise<void>;
}

const LOCK_SCRIPT = `mkdir -p "$1" && cd "$1" || exit 3
if ! command -v flock >/dev/null 2>&1; then echo no-flock; exec cat >/dev/null; fi
flock -n .deploy.lock sh -c 'echo locked; exec cat >/dev/null' || echo busy`;

export function lockDevice(target: DeployTarget): Promise<Result<DeviceLock>> {
  const remote = `sh -c ${shellQuote(LOCK_SCRIPT)} sh ${shellQuote(target.remoteDir)}`;
  const child = spawn('ssh', [...sshOptions(target), '-l', target.user, '--', target.host, remote], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((r) => child.on('close', r));
  const release = async () => {
    child.stdin.end(); // the remote `cat` sees EOF, flock's child exits, the lock is free
    await exited;
  };
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    const settle = (r: Result<DeviceLock>) => {
      if (!settled) resolve(r);
      settled = true;
    };
    child.stdin.on('error', () => undefined);
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (/^locked$/m.test(stdout)) settle(ok({ held: true, release }));
      else if (/^no-flock$/m.test(stdout)) settle(ok({ held: false, release }));
      else if (/^busy$/m.test(stdout)) {
        void release();
        settle(fail({ reason: 'device-busy', message: `another deploy or rollback is running on ${hostLabel(target)}: it holds ${target.remoteDir}/.deploy.lock` }));
      }
    });
    void exited.then(async (code) => {
      if (settled) return;
      if (code === 255) settle(fail(await explainSshFailure(target, stderr, 'device')));
      else settle(fail({ reason: 'remote-failed', message: `cannot lock ${target.remoteDir} on ${hostLabel(target)} (exit ${code}): ${stderr.trim()}` }));
    });
  });
}

/**
 * Runs `work` over one shared ssh connection while holding the device lock (deploy and
 * rollback both): the lock is released and the connection closed whatever `work` returns.
 */
export async function withLockedDevice<T>(target: DeployTarget, info: (line: string) => void, work: (target: DeployTarget) => Promise<Result<T>>): Promise<Result<T>> {
  const connection = openSharedConnection(target);
  try {
    const lock = await lockDevice(connection.target);
    if (!lock.ok) return lock;
    if (!lock.value.held) info('flock(1) is missing on the device: going on without the deploy lock');
    try {
      return await work(connection.target);
    } finally {
      await lock.value.release();
    }
  } finally {
    await connection.close();
  }
}
