// The SFTP remote against a real OpenSSH server (sshd with internal-sftp) on 127.0.0.1,
// connecting with the deploy stage's strict host key checking.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSftpStore, parseSshUrl } from '../../src/engine/remote/sftp-store.ts';
import { RemoteUnavailableError } from '../../src/engine/remote/remote-unavailable.ts';
import type { RemoteSpec } from '../../src/engine/remote/object-store.ts';
import { startSilentServer } from '../helpers/silent-server.ts';
import { startSshd, type SshdRig } from '../helpers/sshd-rig.ts';
import { storeContract } from './store-contract.ts';

let rig: SshdRig;
let cacheDir: string;

beforeAll(async () => {
  rig = await startSshd();
  cacheDir = join(rig.dir, 'cache-root');
  mkdirSync(cacheDir);
});
afterAll(async () => rig?.stop());

const specFor = (overrides: Partial<RemoteSpec> = {}): RemoteSpec => ({
  url: `ssh://root@127.0.0.1:${rig.port}${cacheDir}/team`,
  known_hosts: rig.knownHosts,
  identity_file: rig.userKey,
  timeout_s: 5,
  ...overrides,
});

function expectUnavailable(err: unknown): string {
  expect(err).toBeInstanceOf(RemoteUnavailableError);
  return (err as Error).message;
}

describe('SFTP store on OpenSSH sshd', () => {
  storeContract({
    spec: () => specFor(),
    open: (spec) => openSftpStore('sftptest', spec),
    serverDir: () => cacheDir,
  });

  it('creates the cache folder and its subfolders on the server on first put', async () => {
    const store = await openSftpStore('fresh', specFor({ url: `ssh://root@127.0.0.1:${rig.port}${cacheDir}/new/deep` }));
    try {
      await store.putBytes('objects/12/3456', new Uint8Array([9]));
      expect(execFileSync('cat', [join(cacheDir, 'new/deep/objects/12/3456')])).toEqual(Buffer.from([9]));
    } finally {
      await store.close();
    }
  });

  it('a port that refuses connections is RemoteUnavailableError', async () => {
    const message = expectUnavailable(await openSftpStore('down', specFor({ url: `ssh://root@127.0.0.1:1${cacheDir}` })).catch((e: unknown) => e));
    expect(message).toMatch(/remote down unavailable: cannot reach root@127\.0\.0\.1:1: .*Connection refused/);
  });

  it('a server that accepts the connection but never answers is RemoteUnavailableError, not a hang', async () => {
    const silent = await startSilentServer();
    try {
      const err = await openSftpStore('hung', specFor({ url: `ssh://root@127.0.0.1:${silent.port}${cacheDir}`, timeout_s: 1 })).catch((e: unknown) => e);
      expect(expectUnavailable(err)).toMatch(/remote hung unavailable: .*(timed out|did not answer)/i);
    } finally {
      await silent.stop();
    }
  });

  it('a server whose host key differs from known_hosts is RemoteUnavailableError saying so, with the key it presents', async () => {
    const wrong = join(rig.dir, 'known_hosts_wrong');
    const otherKey = join(rig.dir, 'other_host_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey]);
    const otherPub = execFileSync('cat', [`${otherKey}.pub`], { encoding: 'utf8' }).split(' ').slice(0, 2).join(' ');
    writeFileSync(wrong, `[127.0.0.1]:${rig.port} ${otherPub}\n`);
    const message = expectUnavailable(await openSftpStore('spoofed', specFor({ known_hosts: wrong })).catch((e: unknown) => e));
    expect(message).toContain(`the host key of 127.0.0.1:${rig.port} does NOT match the one in ${wrong}`);
    expect(message).toContain(rig.hostFingerprint);
  });

  it('a server missing from known_hosts is RemoteUnavailableError with the line to accept it', async () => {
    const empty = join(rig.dir, 'known_hosts_empty');
    writeFileSync(empty, '');
    const message = expectUnavailable(await openSftpStore('unknown', specFor({ known_hosts: empty })).catch((e: unknown) => e));
    expect(message).toContain(`the host key of 127.0.0.1:${rig.port} is not in ${empty}`);
    expect(message).toContain(rig.hostFingerprint);
  });

  it('parses ssh:// URLs: user, port, absolute and home-relative folders', () => {
    expect(parseSshUrl({ url: 'ssh://ci@cache.lan:2222/srv/bf' })).toMatchObject({ user: 'ci', host: 'cache.lan', port: 2222, root: '/srv/bf' });
    expect(parseSshUrl({ url: 'ssh://cache.lan/~/bf-cache/' })).toMatchObject({ host: 'cache.lan', port: 22, root: 'bf-cache' });
    expect(() => parseSshUrl({ url: 'ssh://cache.lan/' })).toThrow(/name a folder/);
    expect(() => parseSshUrl({ url: 'sftp:/x' })).toThrow(/not an ssh:\/\/ URL/);
  });
});
