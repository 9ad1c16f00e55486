// A run-cache remote on an SSH server (`ssh://[user@]host[:port]/path`), through the system's
// OpenSSH client with the deploy stage's strict settings (src/ssh): the host must be in the
// known_hosts file, keys only, never a prompt. One ssh process runs the server's sftp
// subsystem; requests are pipelined on it (sftp-session.ts).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open as openLocal } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { posix } from 'node:path';
import { explainSshFailure, lastLines } from '../../ssh/ssh-failure.ts';
import { hostLabel, sshOptions, type SshEndpoint } from '../../ssh/ssh-options.ts';
import { boundedEach } from '../bounded-each.ts';
import type { ObjectStore, RemoteSpec } from './object-store.ts';
import { RemoteUnavailableError } from './remote-unavailable.ts';
import { OpenFlag, SftpCode, SftpSession, SftpStatusError } from './sftp-session.ts';

/** Temporary uploads end with this plus random hex; listings never show them. */
const PART_MARK = '.part-';
/** Bytes per read/write request (OpenSSH's sftp-server takes up to 256 KiB a packet). */
const CHUNK = 64 * 1024;
/** Requests in flight per transfer, so one file streams without waiting a round trip per chunk. */
const WINDOW = 16;
/** Stats or removes in flight at once for a batch. */
const BATCH_WINDOW = 128;

export interface SftpLocation extends SshEndpoint {
  /** The cache folder on the server: absolute, or relative to the user's home (`ssh://host/~/cache`). */
  root: string;
}

/**
 * Reads `ssh://[user@]host[:port]/path` (`/~/path` for a folder in the user's home) and the
 * ssh settings of `spec`; the user defaults to the local one, the port to 22.
 */
export function parseSshUrl(spec: RemoteSpec): SftpLocation {
  let url: URL;
  try {
    url = new URL(spec.url);
  } catch {
    throw new Error(`not an ssh:// URL (ssh://[user@]host[:port]/path): ${spec.url}`);
  }
  if (url.protocol !== 'ssh:' || url.hostname === '') throw new Error(`not an ssh:// URL (ssh://[user@]host[:port]/path): ${spec.url}`);
  const path = decodeURIComponent(url.pathname).replace(/\/+$/, '');
  const root = path.startsWith('/~/') || path === '/~' ? path.slice(3) || '.' : path || '/';
  if (root === '/') throw new Error(`ssh remote ${spec.url}: name a folder for the cache, not the server's root`);
  const timeout = spec.timeout_s ?? 10;
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    user: url.username ? decodeURIComponent(url.username) : userInfo().username,
    port: url.port ? Number(url.port) : 22,
    identityFile: spec.identity_file ? expandHome(spec.identity_file) : undefined,
    knownHosts: expandHome(spec.known_hosts ?? '~/.ssh/known_hosts'),
    connectTimeoutS: timeout,
    // Three missed probes drop a stalled connection after about timeout_s.
    serverAliveIntervalS: Math.max(1, Math.round(timeout / 3)),
    root,
  };
}

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? homedir() + path.slice(1) : path;
}

/** Connects and starts the sftp subsystem; a refused, unknown or impersonated host is RemoteUnavailableError. */
export async function openSftpStore(name: string, spec: RemoteSpec): Promise<ObjectStore> {
  const where = parseSshUrl(spec);
  const timeoutS = where.connectTimeoutS;
  const child = spawn('ssh', [...sshOptions(where), '-s', '-l', where.user, '--', where.host, 'sftp'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let started = false;
  const whenLost = async (stderr: string, timedOut: boolean): Promise<Error> => {
    if (timedOut) return new RemoteUnavailableError(name, `${hostLabel(where)} did not answer within ${timeoutS * 2} s`);
    if (started) return new RemoteUnavailableError(name, `connection to ${hostLabel(where)} lost: ${lastLines(stderr, 2) || 'ssh exited'}`);
    if (/subsystem request failed/i.test(stderr)) return new RemoteUnavailableError(name, `${hostLabel(where)} does not serve sftp`);
    const failure = await explainSshFailure(where, stderr || 'ssh exited without a message');
    return new RemoteUnavailableError(name, failure.message);
  };
  // Twice the connect timeout: the TCP connect, then the key exchange and authentication.
  const session = await SftpSession.start(child, timeoutS * 2000, whenLost);
  started = true;
  const url = `ssh://${where.host}${where.port === 22 ? '' : `:${where.port}`}/${where.root.startsWith('/') ? where.root.slice(1) : `~/${where.root}`}`;
  return new SftpStore(name, url, session, where.root);
}

class SftpStore implements ObjectStore {
  /** Folders known to exist (or being created), so each is made once. */
  private readonly folders = new Map<string, Promise<void>>();

  constructor(
    readonly name: string,
    readonly url: string,
    private readonly sftp: SftpSession,
    private readonly root: string,
  ) {}

  private path(key: string): string {
    if (key.split('/').some((part) => part === '..' || part === '')) throw new Error(`remote ${this.name}: bad key ${JSON.stringify(key)}`);
    return `${this.root}/${key}`;
  }

  async has(keys: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    await boundedEach([...new Set(keys)], BATCH_WINDOW, async (key) => {
      if (await this.sftp.lstat(this.path(key))) found.add(key);
    });
    return found;
  }

  async putFile(key: string, localPath: string): Promise<void> {
    const file = await openLocal(localPath, 'r');
    try {
      const { size } = await file.stat();
      await this.upload(key, size, async (offset, length) => {
        const buf = Buffer.alloc(length);
        const { bytesRead } = await file.read(buf, 0, length, offset);
        if (bytesRead !== length) throw new Error(`${localPath} changed while it was uploaded`);
        return buf;
      });
    } finally {
      await file.close();
    }
  }

  async putBytes(key: string, data: Uint8Array): Promise<void> {
    await this.upload(key, data.byteLength, async (offset, length) => data.subarray(offset, offset + length));
  }

  /** Writes to `<key>.part-<random>` in the same folder, then renames it over the key. */
  private async upload(key: string, size: number, chunkAt: (offset: number, length: number) => Promise<Uint8Array>): Promise<void> {
    const real = this.path(key);
    const temp = `${real}${PART_MARK}${randomBytes(6).toString('hex')}`;
    const flags = OpenFlag.write | OpenFlag.create | OpenFlag.truncate;
    let handle: Buffer;
    try {
      handle = await this.sftp.open(temp, flags);
    } catch (err) {
      if (!(err instanceof SftpStatusError && err.code === SftpCode.NoSuchFile)) throw this.wrap(err);
      await this.makeFolder(posix.dirname(real));
      handle = await this.sftp.open(temp, flags).catch((e: unknown) => Promise.reject(this.wrap(e)));
    }
    let closed = false;
    try {
      const offsets = Array.from({ length: Math.ceil(size / CHUNK) }, (_, i) => i * CHUNK);
      await boundedEach(offsets, WINDOW, async (offset) => {
        const data = await chunkAt(offset, Math.min(CHUNK, size - offset));
        await this.sftp.write(handle, offset, data, temp);
      });
      closed = true;
      // Sent together (one round trip): the server handles them in order, so the rename
      // sees the closed file. Every write was acknowledged before, so the bytes are there.
      await Promise.all([this.sftp.close(handle, temp), this.sftp.rename(temp, real)]);
    } catch (err) {
      if (!closed) await this.sftp.close(handle, temp).catch(() => undefined);
      await this.sftp.remove(temp).catch(() => undefined);
      throw this.wrap(err);
    }
  }

  /** Creates `dir` and its missing parents (like mkdir -p). */
  private makeFolder(dir: string): Promise<void> {
    let made = this.folders.get(dir);
    if (!made) {
      made = (async () => {
        try {
          await this.sftp.mkdir(dir);
        } catch (err) {
          if (!(err instanceof SftpStatusError)) throw err;
          if (err.code === SftpCode.NoSuchFile && dir !== posix.dirname(dir)) {
            await this.makeFolder(posix.dirname(dir));
            await this.sftp.mkdir(dir).catch(async (again: unknown) => {
              if (!(await this.sftp.lstat(dir))?.isDirectory) throw again;
            });
          } else if (!(await this.sftp.lstat(dir))?.isDirectory) {
            throw err; // not "it already exists"
          }
        }
      })();
      this.folders.set(dir, made);
      made.catch(() => this.folders.delete(dir));
    }
    return made;
  }

  async getFile(key: string, localPath: string): Promise<boolean> {
    const handle = await this.openForRead(key);
    if (!handle) return false;
    const out = await openLocal(localPath, 'w');
    try {
      await this.download(handle, key, (offset, data) => out.write(data, 0, data.length, offset).then(() => undefined));
    } finally {
      await out.close();
    }
    return true;
  }

  async getBytes(key: string): Promise<Uint8Array | null> {
    const handle = await this.openForRead(key);
    if (!handle) return null;
    const parts: { offset: number; data: Buffer }[] = [];
    await this.download(handle, key, async (offset, data) => void parts.push({ offset, data }));
    return Buffer.concat(parts.sort((a, b) => a.offset - b.offset).map((p) => p.data));
  }

  private async openForRead(key: string): Promise<Buffer | null> {
    try {
      return await this.sftp.open(this.path(key), OpenFlag.read);
    } catch (err) {
      if (err instanceof SftpStatusError && err.code === SftpCode.NoSuchFile) return null;
      throw this.wrap(err);
    }
  }

  /** Reads the whole file with a window of requests in flight; `sink` gets each piece at its offset. */
  private async download(handle: Buffer, key: string, sink: (offset: number, data: Buffer) => Promise<void>): Promise<void> {
    const path = this.path(key);
    // The server may answer a read with less than asked: ask again for the rest.
    const readRange = async (start: number, end: number, first?: Promise<Buffer | null>): Promise<void> => {
      for (let offset = start; offset < end; ) {
        const data = first ?? this.sftp.read(handle, offset, end - offset, path);
        first = undefined;
        const got = await data;
        if (!got || got.length === 0) throw new Error(`remote ${this.name}: ${key} ended at ${offset} of ${end} bytes`);
        await sink(offset, got.length > end - offset ? got.subarray(0, end - offset) : got);
        offset += got.length;
      }
    };
    try {
      // The size and the first chunk in one round trip: most cached files fit in one chunk.
      const firstRead = this.sftp.read(handle, 0, CHUNK, path);
      firstRead.catch(() => undefined);
      const { size = 0 } = await this.sftp.fstat(handle, path);
      if (size === 0) return;
      await readRange(0, Math.min(CHUNK, size), firstRead);
      const offsets = Array.from({ length: Math.ceil(size / CHUNK) - 1 }, (_, i) => (i + 1) * CHUNK);
      await boundedEach(offsets, WINDOW, (start) => readRange(start, Math.min(start + CHUNK, size)));
    } catch (err) {
      throw this.wrap(err);
    } finally {
      // Not waited for: nothing depends on a read handle's close.
      this.sftp.close(handle, path).catch(() => undefined);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    const walk = async (folder: string): Promise<void> => {
      let entries;
      try {
        entries = await this.sftp.readdir(folder === '' ? this.root : `${this.root}/${folder}`);
      } catch (err) {
        if (err instanceof SftpStatusError && err.code === SftpCode.NoSuchFile) return;
        throw this.wrap(err);
      }
      await Promise.all(entries.map(async ({ name, attrs }) => {
        const key = folder === '' ? name : `${folder}/${name}`;
        if (attrs.isDirectory) {
          if (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(key);
        } else if (key.startsWith(prefix) && !name.includes(PART_MARK)) {
          keys.push(key);
        }
      }));
    };
    await walk(posix.dirname(`${prefix}x`) === '.' ? '' : posix.dirname(`${prefix}x`));
    return keys.sort();
  }

  async delete(keys: readonly string[]): Promise<void> {
    await boundedEach(keys, BATCH_WINDOW, async (key) => {
      try {
        await this.sftp.remove(this.path(key));
      } catch (err) {
        if (!(err instanceof SftpStatusError && err.code === SftpCode.NoSuchFile)) throw this.wrap(err);
      }
    });
  }

  async close(): Promise<void> {
    await this.sftp.end();
  }

  /** Names the remote in a server-side error; a lost connection is already RemoteUnavailableError. */
  private wrap(err: unknown): unknown {
    if (err instanceof SftpStatusError) return new Error(`remote ${this.name} (${this.url}): ${err.message}`, { cause: err });
    return err;
  }
}
