// The run cache: a stage's outs stored under the full fingerprint of its inputs, so a
// stale stage whose inputs were built before (here, by a teammate, by CI) is restored
// instead of run. Local first (.pipeline/cache/, so flipping a param back is instant), then
// the configured remote. Everything that comes out of a cache is hash-checked before it
// replaces anything; a remote that is down or slow costs one warning line and a build.
import { randomBytes } from 'node:crypto';
import { chmodSync, constants, promises as fs, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { listPath } from '../file-lister.ts';
import { guardOuts, type GuardedOuts } from '../outs-guard.ts';
import { writtenPaths, type StageDecl } from '../pipeline-config.ts';
import type { Project } from '../project.ts';
import type { Hash } from '../stat-cache.ts';
import { decodeEntry, encodeEntry, entryKey, entryObjects, hashFile, objectKey, outHash, type CacheEntry, type EntryFile, type EntryOut } from './cache-entry.ts';
import { boundedEach } from '../bounded-each.ts';
import { openDirectoryStore } from './directory-store.ts';
import { replaceFile, tempPathBeside } from '../atomic-write.ts';
import type { ObjectStore, RemoteSpec } from './object-store.ts';
import { openStore } from './open-store.ts';
import { isRemoteUnavailable } from './remote-unavailable.ts';
import { chooseRemote, loadRemotes } from './remote-config.ts';
import { formatDiagnostic, type Result } from '../diagnostic.ts';

/** What the cache tells the user while a run or a push/pull goes on. */
export type CacheEvent =
  | { type: 'warning'; message: string }
  /** Progress of a transfer (`verb` objects, `done` of `total`, `bytes` so far). */
  | { type: 'transfer'; verb: string; done: number; total: number; bytes: number };

/** An object whose content is not the hash it is stored under (a damaged or partial copy). */
export class CorruptObjectError extends Error {
  override readonly name = 'CorruptObjectError';
}

/** The remote the run uses, as chosen by remote-config.ts's chooseRemote. */
export interface RemoteChoice {
  name: string;
  spec: RemoteSpec;
}

/** A hit, restored into the workspace; the caller records the lock, then commits (or restores) the guard. */
export interface Restored {
  source: string;
  guard: GuardedOuts;
  /** Each out's hash, as the lock records it. */
  outs: Record<string, Hash>;
}

export const DEFAULT_JOBS = 8;

export class RunCache {
  /** .pipeline/cache/: a directory store of its own. */
  readonly dir: string;
  private local: ObjectStore | undefined;
  private remote: Promise<ObjectStore | undefined> | undefined;
  /** Set once the remote failed: one warning, then the run goes on without it. */
  private remoteDown = false;
  /** Objects hash-checked by this process (just downloaded or stored): not read again to restore. */
  private readonly verified = new Set<string>();

  constructor(
    private readonly project: Project,
    readonly remoteChoice: RemoteChoice | undefined,
    private readonly onEvent: (e: CacheEvent) => void,
  ) {
    this.dir = join(project.stateDir, 'cache');
  }

  get remoteName(): string | undefined {
    return this.remoteChoice?.name;
  }

  get jobs(): number {
    return this.remoteChoice?.spec.jobs ?? DEFAULT_JOBS;
  }

  async localStore(): Promise<ObjectStore> {
    if (!this.local) {
      mkdirSync(this.dir, { recursive: true });
      this.local = await openDirectoryStore('local', { url: this.dir }, this.project.root);
    }
    return this.local;
  }

  /**
   * The remote store, opened on first use; undefined when none is chosen or it is down.
   * With `strict` (push, pull) an unavailable remote throws instead of warning.
   */
  async remoteStore(strict = false): Promise<ObjectStore | undefined> {
    const choice = this.remoteChoice;
    if (!choice || this.remoteDown) return undefined;
    this.remote ??= openStore(choice.name, choice.spec, this.project.root);
    try {
      return await this.remote;
    } catch (err) {
      if (strict || !isRemoteUnavailable(err)) throw err;
      this.remoteFailed(err);
      return undefined;
    }
  }

  /** The remote is down: say so once, and use only the local cache from now on. */
  private remoteFailed(err: unknown): void {
    if (this.remoteDown) return;
    this.remoteDown = true;
    this.onEvent({ type: 'warning', message: `${(err as Error).message}; building what the local cache lacks` });
  }

  /** A remote call in a run: an unavailable remote gives `fallback` (after the one warning). */
  private async tryRemote<T>(fn: (remote: ObjectStore) => Promise<T>, fallback: T): Promise<T> {
    const remote = await this.remoteStore();
    if (!remote) return fallback;
    try {
      return await fn(remote);
    } catch (err) {
      if (!isRemoteUnavailable(err)) throw err;
      this.remoteFailed(err);
      return fallback;
    }
  }

  /** The entry for `fingerprint` and where it was found; a damaged one is a warning and a miss. */
  async lookup(stage: string, fingerprint: string, opts: { localOnly?: boolean; strict?: boolean } = {}): Promise<{ entry: CacheEntry; source: string } | undefined> {
    const fromLocal = await this.readEntry(await this.localStore(), stage, fingerprint);
    if (fromLocal) return { entry: fromLocal, source: 'local' };
    if (opts.localOnly) return undefined;
    const read = (remote: ObjectStore): Promise<CacheEntry | undefined> => this.readEntry(remote, stage, fingerprint);
    const fromRemote = opts.strict ? await this.strictRemote(read) : await this.tryRemote(read, undefined);
    return fromRemote && { entry: fromRemote, source: this.remoteName! };
  }

  private async strictRemote<T>(fn: (remote: ObjectStore) => Promise<T>): Promise<T | undefined> {
    const remote = await this.remoteStore(true);
    return remote ? fn(remote) : undefined;
  }

  private async readEntry(store: ObjectStore, stage: string, fingerprint: string): Promise<CacheEntry | undefined> {
    const bytes = await store.getBytes(entryKey(fingerprint));
    if (!bytes) return undefined;
    const decoded = decodeEntry(bytes, fingerprint);
    if (decoded.ok) return decoded.entry;
    this.onEvent({ type: 'warning', message: `cache entry of stage ${stage} in ${store.name} is damaged (${decoded.why}); not used` });
    return undefined;
  }

  /** Which of `fingerprints` have an entry: in the local cache, else in the remote (status, dry run). */
  async whereCached(fingerprints: readonly string[]): Promise<Map<string, string>> {
    const where = new Map<string, string>();
    const local = await (await this.localStore()).has(fingerprints.map(entryKey));
    for (const fp of fingerprints) if (local.has(entryKey(fp))) where.set(fp, 'local');
    const rest = fingerprints.filter((fp) => !where.has(fp));
    if (rest.length > 0) {
      const found = await this.tryRemote((r) => r.has(rest.map(entryKey)), new Set<string>());
      for (const fp of rest) if (found.has(entryKey(fp))) where.set(fp, this.remoteName!);
    }
    return where;
  }

  objectPath(sha256: string): string {
    return join(this.dir, objectKey(sha256));
  }

  /**
   * Makes every object of `entry` present in the local cache: those missing are downloaded
   * from the remote (bounded parallel), each to a temp file that is hash-checked before it is
   * renamed into the cache. A corrupt object throws CorruptObjectError (and is dropped from
   * the remote, whose copy can never be right under that name); nothing bad enters the cache.
   */
  async fetchObjects(entry: CacheEntry, strict = false): Promise<{ fetched: number; bytes: number }> {
    const objects = entryObjects(entry);
    const local = await this.localStore();
    const present = await local.has([...objects.keys()].map(objectKey));
    const missing = [...objects].filter(([sha]) => !present.has(objectKey(sha)));
    // The entry is copied last, once every object it names is here: the next lookup is local.
    const keep = async (): Promise<void> => {
      if ((await local.has([entryKey(entry.fingerprint)])).size === 0) await local.putBytes(entryKey(entry.fingerprint), encodeEntry(entry));
    };
    if (missing.length === 0) {
      await keep();
      return { fetched: 0, bytes: 0 };
    }
    const remote = await this.remoteStore(strict);
    if (!remote) throw new Error(`the local cache lacks ${missing.length} object(s) of stage ${entry.stage} and no remote is available`);
    const progress = this.progress('pulling', missing.length);
    await boundedEach(missing, this.jobs, async ([sha, size]) => {
      await replaceFile(this.objectPath(sha), async (tmp) => {
        if (!(await remote.getFile(objectKey(sha), tmp))) throw new Error(`object ${sha.slice(0, 12)} of stage ${entry.stage} is missing from remote ${remote.name}`);
        const got = await hashFile(tmp);
        if (got !== sha) {
          await remote.delete([objectKey(sha)]).catch(() => undefined);
          throw new CorruptObjectError(`object ${objectKey(sha)} from remote ${remote.name} is corrupt (its content hashes to ${got.slice(0, 12)}…; removed from the remote)`);
        }
        await fs.chmod(tmp, 0o444); // objects are never edited in place
      });
      this.verified.add(sha);
      progress(size);
    });
    await keep();
    return { fetched: missing.length, bytes: missing.reduce((n, [, size]) => n + size, 0) };
  }

  /**
   * Looks `fingerprint` up and, on a hit, puts its outs in place of the stage's current ones
   * (moved aside by the outs guard, so a failure or a kill leaves the last good outs). Any
   * problem with the cached copy is a warning and a miss: the stage then builds.
   */
  async tryRestore(stage: StageDecl, fingerprint: string): Promise<Restored | undefined> {
    const hit = await this.lookup(stage.name, fingerprint);
    if (!hit) return undefined;
    try {
      // Also for a local entry: an object deleted from .pipeline/cache by hand comes from the remote.
      await this.fetchObjects(hit.entry);
      return { source: hit.source, ...(await this.placeOuts(stage, hit.entry)) };
    } catch (err) {
      if (isRemoteUnavailable(err)) {
        this.remoteFailed(err);
        return undefined;
      }
      // A corrupt object, a missing one, a full disk: the cache is an optimisation, so the stage builds.
      this.onEvent({ type: 'warning', message: `stage ${stage.name}: cached outs from ${hit.source} not used: ${(err as Error).message}; building instead` });
      return undefined;
    }
  }

  /**
   * Copies the entry's outs from the local cache into a staging folder, checking each file's
   * hash, then swaps them in under the outs guard. Returns the guard for the caller to
   * commit once the lock records the stage.
   */
  async placeOuts(stage: StageDecl, entry: CacheEntry): Promise<{ guard: GuardedOuts; outs: Record<string, Hash> }> {
    const paths = writtenPaths(stage).map((o) => o.path);
    const missingOut = paths.find((p) => !entry.outs[p]);
    if (missingOut) throw new Error(`the entry has no ${missingOut}`);
    const staging = join(this.dir, 'staging', `${stage.name}-${process.pid}-${randomBytes(4).toString('hex')}`);
    mkdirSync(staging, { recursive: true });
    try {
      const files = paths.flatMap((p, i) => entry.outs[p]!.files.map((f) => ({ out: entry.outs[p]!, file: f, dest: join(staging, `out-${i}`, f.path) })));
      for (const [i, p] of paths.entries()) if (entry.outs[p]!.kind === 'dir') mkdirSync(join(staging, `out-${i}`), { recursive: true });
      const progress = this.progress('restoring', files.length);
      await boundedEach(files, 4, async ({ file, dest }) => {
        mkdirSync(dirname(dest), { recursive: true });
        await fs.copyFile(this.objectPath(file.sha256), dest, constants.COPYFILE_FICLONE);
        // An object from an earlier process is checked again: a cache folder can rot or be edited.
        const got = this.verified.has(file.sha256) ? file.sha256 : await hashFile(dest);
        if (got !== file.sha256) {
          // The local copy rotted or was edited: it must not be restored again.
          await fs.rm(this.objectPath(file.sha256), { force: true });
          throw new CorruptObjectError(`local cache object ${file.sha256.slice(0, 12)}… is corrupt (removed)`);
        }
        // Objects are read-only in the cache; outs are the user's, writable as a stage leaves them.
        chmodSync(dest, file.exec ? 0o755 : 0o644);
        progress(file.size);
      });
      const guard = guardOuts(this.project.root, this.project.asideDir, stage.name, paths);
      try {
        for (const [i, p] of paths.entries()) {
          mkdirSync(dirname(join(this.project.root, p)), { recursive: true });
          await fs.rename(join(staging, `out-${i}`), join(this.project.root, p));
        }
        await this.primeStatCache(paths, entry);
      } catch (err) {
        guard.restore();
        throw err;
      }
      return { guard, outs: Object.fromEntries(paths.map((p) => [p, entry.outs[p]!.hash])) };
    } finally {
      await fs.rm(staging, { recursive: true, force: true });
    }
  }

  /** The restored files' hashes are known: the next run need not read them again. */
  private async primeStatCache(paths: string[], entry: CacheEntry): Promise<void> {
    for (const p of paths) {
      const out = entry.outs[p]!;
      const sha = new Map(out.files.map((f) => [out.kind === 'file' ? p : `${p}/${f.path}`, f.sha256 as Hash]));
      const listing = await listPath(this.project.root, p);
      for (const f of listing.files()) {
        const h = sha.get(f.rel);
        if (h) this.project.cache.set(f.rel, f.key, h);
      }
    }
  }

  /**
   * Stores a stage's outs (and metrics file) in the local cache under `fingerprint`: each
   * file copied (reflinked where the file system can) to a temp file, hash-checked, renamed
   * to its object name unless that object is there already; the entry is written last. An
   * out that changed since it was hashed (`outs`) is not stored.
   */
  async store(stage: StageDecl, fingerprint: string, outs: Record<string, Hash | null>): Promise<CacheEntry | undefined> {
    const local = await this.localStore();
    const entryOuts: Record<string, EntryOut> = {};
    for (const { path } of writtenPaths(stage)) {
      const listing = await listPath(this.project.root, path);
      if (listing.kind === 'missing') return undefined;
      const files = listing.files();
      const entryFiles: EntryFile[] = [];
      await boundedEach(files, 4, async (f) => {
        const abs = join(this.project.root, f.rel);
        const st = statSync(abs);
        const known = this.project.cache.get(f.rel, f.key);
        const sha = known && (await local.has([objectKey(known)])).size > 0 ? known : await this.adopt(abs);
        entryFiles.push({ path: listing.kind === 'file' ? '' : f.rel.slice(path.length + 1), sha256: sha, size: st.size, ...(st.mode & 0o100 ? { exec: true as const } : {}) });
      });
      entryFiles.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      const out: EntryOut = { kind: listing.kind, files: entryFiles, hash: outs[path] as Hash };
      if (outHash(path, out) !== outs[path]) {
        this.onEvent({ type: 'warning', message: `stage ${stage.name}: ${path} changed while it was being cached; not cached` });
        return undefined;
      }
      entryOuts[path] = out;
    }
    const entry: CacheEntry = { version: 1, stage: stage.name, fingerprint, outs: entryOuts };
    await local.putBytes(entryKey(fingerprint), encodeEntry(entry));
    return entry;
  }

  /** Copies a file into the cache under its hash (computed from the copy); returns the hash. */
  private async adopt(abs: string): Promise<string> {
    // Named by its hash, known only once copied: a temp name, then a rename to the object's.
    const tmp = tempPathBeside(join(this.dir, 'objects', 'incoming'));
    mkdirSync(dirname(tmp), { recursive: true });
    try {
      await fs.copyFile(abs, tmp, constants.COPYFILE_FICLONE);
      const sha = await hashFile(tmp);
      const target = this.objectPath(sha);
      mkdirSync(dirname(target), { recursive: true });
      await fs.chmod(tmp, 0o444); // objects are never edited in place
      await fs.rename(tmp, target);
      return sha;
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  /** A progress reporter for `total` objects: events every so often, the caller decides how they show. */
  progress(verb: string, total: number): (bytes: number) => void {
    let done = 0;
    let bytes = 0;
    return (size) => {
      done++;
      bytes += size;
      this.onEvent({ type: 'transfer', verb, done, total, bytes });
    };
  }

  async close(): Promise<void> {
    const remote = await this.remote?.catch(() => undefined);
    await remote?.close();
  }
}

/**
 * The project's run cache with the remote `--remote NAME` / `--no-remote` / the config's
 * default chose; a bad `remotes:` config or an unknown NAME is the error text (exit 2).
 */
export function openRunCache(project: Project, opts: { remote?: string; noRemote?: boolean }, onEvent: (e: CacheEvent) => void): Result<RunCache, string> {
  const config = loadRemotes(project.root, project.pipeline.file);
  if (!config.ok) return { ok: false, error: config.error.map(formatDiagnostic).join('\n') };
  const choice = chooseRemote(config.value, opts);
  if (!choice.ok) return { ok: false, error: `error: ${choice.error}` };
  return { ok: true, value: new RunCache(project, choice.value, onEvent) };
}
