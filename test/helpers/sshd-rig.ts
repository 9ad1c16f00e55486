// A real OpenSSH server on 127.0.0.1 playing the Raspberry Pi (deploy tests) or an SFTP cache
// server (remote cache tests): temporary host and user keys, a temporary authorized_keys,
// keys only, sftp served in-process (internal-sftp).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SshdRig {
  port: number;
  dir: string;
  /** The user key the deploy uses (mode 0600). */
  userKey: string;
  /** A known_hosts file that lists the server's real host key. */
  knownHosts: string;
  /** `SHA256:...` of the server's host key. */
  hostFingerprint: string;
  stop(): Promise<void>;
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function keygen(file: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'brickflow-test', '-f', file]);
}

export function fingerprintOf(pubFile: string): string {
  return execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubFile], { encoding: 'utf8' }).split(/\s+/)[1]!;
}

export async function startSshd(): Promise<SshdRig> {
  const dir = mkdtempSync(join(tmpdir(), 'brickflow-sshd-'));
  const hostKey = join(dir, 'host_ed25519');
  const userKey = join(dir, 'user_ed25519');
  keygen(hostKey);
  keygen(userKey);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${userKey}.pub`));
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(config, [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'StrictModes no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'PermitRootLogin prohibit-password',
    'UsePAM no',
    'Subsystem sftp internal-sftp',
    'MaxStartups 100', // the tests connect concurrently; the default starts dropping at 10 pending handshakes
    // bash sources ~/.bashrc for every command sshd runs, unless it is a nested shell: the
    // test user's start-up files (pyenv init, ...) cost seconds per command under load.
    'SetEnv SHLVL=1',
    'LogLevel ERROR',
    '',
  ].join('\n'));
  // sshd running as root insists on its privilege separation folder.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true });
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const hostLine = await waitForKeyscan(port, child, () => stderr);
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, hostLine + '\n');
  return {
    port,
    dir,
    userKey,
    knownHosts,
    hostFingerprint: fingerprintOf(`${hostKey}.pub`),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForKeyscan(port: number, child: ChildProcess, stderr: () => string): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`sshd exited (${child.exitCode}): ${stderr()}`);
    try {
      const out = execFileSync('ssh-keyscan', ['-p', String(port), '-T', '2', '127.0.0.1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const line = out.split('\n').find((l) => l.includes('ssh-ed25519'));
      if (line) return line;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sshd on port ${port} never answered: ${stderr()}`);
}
