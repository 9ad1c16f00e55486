// An ObjectStore on a folder: a mounted NFS/SMB share, another disk, or the project's own
// local cache (.pipeline/cache). Keys are relative paths under the folder; a put writes a
// temp file beside its key and renames it into place, so a reader (or a killed writer)
// never sees part of an object under its real key.
import { constants, promises as fs } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { boundedEach } from '../bounded-each.ts';
import { isTempName, replaceFile } from '../atomic-write.ts';
import type { ObjectStore, RemoteSpec } from './object-store.ts';
import { RemoteUnavailableError } from './remote-unavailable.ts';

/** Errors that mean "the share is not there or not ours", not "this key is missing". */
const UNAVAILABLE = new Set(['EACCES', 'EPERM', 'EIO', 'ENOTCONN', 'ESTALE', 'ETIMEDOUT', 'EHOSTDOWN', 'EROFS', 'ENOTDIR']);

/** The folder a `file://` URL or a plain path names; a relative path is taken from `projectRoot`. */
export function directoryOf(url: string, projectRoot: string): string {
  if (url.startsWith('file://')) return fileURLToPath(url);
  return isAbsolute(url) ? url : resolve(projectRoot, url);
}

/**
 * Opens the folder `spec.url` as a store. The folder must exist (a share that is not mounted
 * must not be silently replaced by an empty local folder): otherwise RemoteUnavailableError.
 */
export async function openDirectoryStore(name: string, spec: RemoteSpec, projectRoot: string): Promise<ObjectStore> {
  const dir = directoryOf(spec.url, projectRoot);
  const timeoutMs = (spec.timeout_s ?? 10) * 1000;
  try {
    await withTimeout(name, timeoutMs, async () => {
      const st = await fs.stat(dir);
      if (!st.isDirectory()) throw new RemoteUnavailableError(name, `${dir} is not a folder`);
      await fs.access(dir, constants.R_OK | constants.X_OK);
    });
  } catch (err) {
    if (err instanceof RemoteUnavailableError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new RemoteUnavailableError(name, code === 'ENOENT' ? `folder ${dir} does not exist (not mounted? create it to start a cache there)` : `${dir}: ${code ?? (err as Error).message}`, { cause: err });
  }
  return new DirectoryStore(name, dir, timeoutMs);
}

class DirectoryStore implements ObjectStore {
  readonly url: string;

  constructor(
    readonly name: string,
    private readonly dir: string,
    private readonly timeoutMs: number,
  ) {
    this.url = dir;
  }

  private path(key: string): string {
    const abs = resolve(this.dir, key);
    if (!abs.startsWith(this.dir + sep)) throw new Error(`key ${key} is outside the store ${this.dir}`);
    return abs;
  }

  /** Runs a file system call; a failure that means the share is gone becomes RemoteUnavailableError. */
  private async op<T>(fn: () => Promise<T>, timed = true): Promise<T> {
    try {
      return timed ? await withTimeout(this.name, this.timeoutMs, fn) : await fn();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== undefined && UNAVAILABLE.has(code)) throw new RemoteUnavailableError(this.name, `${code} on ${this.dir}`, { cause: err });
      throw err;
    }
  }

  async has(keys: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    // A stat per key, a few at a time: a share answers many small requests in parallel.
    await this.op(() =>
      boundedEach(keys, 16, async (key) => {
        try {
          if ((await fs.stat(this.path(key))).isFile()) found.add(key);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }),
    );
    return found;
  }

  async putFile(key: string, localPath: string): Promise<void> {
    await this.op(() => this.publish(key, (tmp) => fs.copyFile(localPath, tmp, constants.COPYFILE_FICLONE)), false);
  }

  async putBytes(key: string, data: Uint8Array): Promise<void> {
    await this.op(() => this.publish(key, (tmp) => fs.writeFile(tmp, data)));
  }

  /** Through a temp file beside `key`: a reader (or a killed writer) never sees part of an object under its key. */
  private publish(key: string, write: (tmp: string) => Promise<void>): Promise<void> {
    return replaceFile(this.path(key), write);
  }


  async getFile(key: string, localPath: string): Promise<boolean> {
    return this.op(async () => {
      try {
        await fs.copyFile(this.path(key), localPath, constants.COPYFILE_FICLONE);
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !(await exists(localPath))) return false;
        throw err;
      }
    }, false);
  }

  async getBytes(key: string): Promise<Uint8Array | null> {
    return this.op(async () => {
      try {
        return await fs.readFile(this.path(key));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    });
  }

  async list(prefix: string): Promise<string[]> {
    return this.op(async () => {
      const base = join(this.dir, prefix);
      let entries: string[];
      try {
        entries = (await fs.readdir(base, { recursive: true, withFileTypes: true }))
          .filter((e) => e.isFile() && !isTempName(e.name))
          .map((e) => join(e.parentPath, e.name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
      return entries.map((abs) => abs.slice(this.dir.length + 1).split(sep).join('/')).sort();
    });
  }

  async delete(keys: readonly string[]): Promise<void> {
    await this.op(() => boundedEach(keys, 16, (key) => fs.rm(this.path(key), { force: true })));
  }

  async close(): Promise<void> {}
}

async function exists(path: string): Promise<boolean> {
  return fs.stat(path).then(
    () => true,
    () => false,
  );
}

/** `fn`, or RemoteUnavailableError once it has taken `ms` (a hung NFS mount). */
async function withTimeout<T>(name: string, ms: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RemoteUnavailableError(name, `timed out after ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([fn(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
