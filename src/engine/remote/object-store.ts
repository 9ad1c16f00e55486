// The one interface every run-cache remote implements: a directory (a mounted share), an
// SFTP server or an S3 bucket. The run cache (src/engine/remote/run-cache.ts) decides what
// goes where; a store only moves bytes under keys.
//
// Keys are relative POSIX paths, e.g. `objects/ab/cdef…` (a file, named by its sha256) and
// `entries/<stage fingerprint>.json` (the manifest that makes an entry visible, put last).

export interface ObjectStore {
  /** The remote's name as configured (`remotes:` in pipeline.yaml), for messages. */
  readonly name: string;
  /** Where it points, credentials left out: `s3://bucket/prefix`, `ssh://host/path`, a folder. */
  readonly url: string;
  /** Which of `keys` exist. Batched: one round trip per many keys where the protocol allows. */
  has(keys: readonly string[]): Promise<Set<string>>;
  /**
   * Uploads the file at `localPath` to `key`. Atomic for readers: nothing is visible under
   * `key` until the whole file is there (a temporary key, then rename/copy), so a killed
   * upload leaves no partial object under its real key. Putting an existing key is harmless.
   */
  putFile(key: string, localPath: string): Promise<void>;
  /** `putFile` for small contents held in memory (entry manifests). */
  putBytes(key: string, data: Uint8Array): Promise<void>;
  /**
   * Downloads `key` to `localPath` (which the caller chose as a temporary path; the caller
   * verifies the hash before moving it anywhere). False when the key does not exist.
   */
  getFile(key: string, localPath: string): Promise<boolean>;
  /** The contents of a small key, or null when it does not exist. */
  getBytes(key: string): Promise<Uint8Array | null>;
  /** Keys under `prefix` (e.g. `entries/`), for gc and `cache` listings. */
  list(prefix: string): Promise<string[]>;
  /** Deletes keys; missing ones are not an error. */
  delete(keys: readonly string[]): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** One `remotes:` entry of pipeline.yaml (merged with `.pipeline/config.yaml`, never committed). */
export interface RemoteSpec {
  /** `/mnt/share/cache`, `file:///…`, `ssh://[user@]host[:port]/path`, `s3://bucket/prefix`. */
  url: string;
  /** S3: a custom endpoint (MinIO, R2, s3rver), e.g. `http://127.0.0.1:4568`. */
  endpoint?: string;
  /** S3: the region (default from AWS_REGION / the AWS config files, else us-east-1). */
  region?: string;
  /** S3: path-style addressing (needed by most S3-compatible servers). */
  force_path_style?: boolean;
  /** SSH: known_hosts file to check the server against (strict; default ~/.ssh/known_hosts). */
  known_hosts?: string;
  /** SSH: private key file (default: ssh's own choice / the agent). */
  identity_file?: string;
  /** Concurrent transfers (default 8). */
  jobs?: number;
  /** Seconds before a connection attempt or a stalled transfer counts as "remote down" (default 10). */
  timeout_s?: number;
}

/**
 * How stores are opened, by URL scheme: `open-store.ts` maps a RemoteSpec to one of
 *   - `directory-store.ts`  `openDirectoryStore(name, spec, projectRoot)` (a path or file://)
 *   - `sftp-store.ts`       `openSftpStore(name, spec)`                  (ssh://)
 *   - `s3-store.ts`         `openS3Store(name, spec)`                    (s3://)
 * each returning Promise<ObjectStore>. A store throws RemoteUnavailableError
 * (`remote-unavailable.ts`) when its server is down, refuses it or stalls past timeout_s.
 */
