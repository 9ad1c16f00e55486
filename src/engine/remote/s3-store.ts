// A run-cache remote in an S3 bucket (AWS S3, or an S3-compatible server such as MinIO, R2
// or s3rver through `endpoint` + `force_path_style`). Credentials come from the SDK's
// default chain (environment, ~/.aws/credentials, instance roles), never from the project.
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { boundedEach } from '../bounded-each.ts';
import type { ObjectStore, RemoteSpec } from './object-store.ts';
import { RemoteUnavailableError } from './remote-unavailable.ts';

/** The AWS SDK, loaded when an s3:// remote is opened: it costs every other command ~0.2 s of start-up. */
type S3Sdk = typeof import('@aws-sdk/client-s3');

/** Temporary keys end with this plus random hex; listings never show them. */
const PART_MARK = '.part-';
/** A group of keys sharing a folder is answered by one listing from this size on, else by HEADs. */
const LIST_FROM = 16;

interface S3Location {
  bucket: string;
  /** '' or a prefix ending in '/'. */
  prefix: string;
}

/** Splits `s3://bucket/some/prefix` into its bucket and key prefix. */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m || m[1] === '') throw new Error(`not an s3:// URL (s3://bucket/prefix): ${url}`);
  const path = m[2]!.replace(/^\/+|\/+$/g, '');
  return { bucket: m[1]!, prefix: path === '' ? '' : `${path}/` };
}

/** Opens the bucket and checks it answers (HeadBucket), so a down server is known at once. */
export async function openS3Store(name: string, spec: RemoteSpec): Promise<ObjectStore> {
  const { bucket, prefix } = parseS3Url(spec.url);
  const timeoutMs = (spec.timeout_s ?? 10) * 1000;
  const jobs = spec.jobs ?? 8;
  const sdk = await import('@aws-sdk/client-s3');
  const client = await makeClient(sdk, spec, timeoutMs, jobs);
  const store = new S3Store(sdk, name, spec.url, client, bucket, prefix, jobs);
  try {
    await store.call(() => client.send(new sdk.HeadBucketCommand({ Bucket: bucket })));
  } catch (err) {
    client.destroy();
    // HeadBucket has no body: a missing bucket is a bare 404.
    if (isNotFound(err)) throw new RemoteUnavailableError(name, `bucket ${bucket} does not exist (${spec.url})`, { cause: err });
    throw err;
  }
  return store;
}

async function makeClient(sdk: S3Sdk, spec: RemoteSpec, timeoutMs: number, jobs: number): Promise<S3Client> {
  // The SDK warns on every run that its *future* releases need node 22; ours is pinned, so
  // the warning would only add noise to each `pipeline run` (a user can still set it).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const config = {
    endpoint: spec.endpoint,
    forcePathStyle: spec.force_path_style ?? false,
    // One retry: a refused or silent server should make the run build, not wait.
    maxAttempts: 2,
    // No aws-chunked checksum trailers: S3-compatible servers (s3rver, older MinIO/R2) store
    // them as part of the object. The run cache checks every download's sha256 itself.
    requestChecksumCalculation: 'WHEN_REQUIRED' as const,
    responseChecksumValidation: 'WHEN_REQUIRED' as const,
    requestHandler: {
      connectionTimeout: timeoutMs,
      // Inactivity on the socket, not the whole request (a big upload may take minutes): a
      // transfer that stalls this long counts as the remote being down.
      socketTimeout: timeoutMs,
      httpAgent: { keepAlive: true, maxSockets: jobs * 2 },
      httpsAgent: { keepAlive: true, maxSockets: jobs * 2 },
    },
  };
  if (spec.region) return new sdk.S3Client({ ...config, region: spec.region });
  // No region configured: the SDK's own chain (AWS_REGION, ~/.aws/config), else us-east-1,
  // which S3-compatible servers accept whatever their location.
  const chained = new sdk.S3Client(config);
  try {
    await chained.config.region();
    return chained;
  } catch {
    chained.destroy();
    return new sdk.S3Client({ ...config, region: 'us-east-1' });
  }
}

class S3Store implements ObjectStore {
  /** Deletions of temporary keys still in flight. */
  private readonly removals = new Set<Promise<void>>();

  constructor(
    private readonly sdk: S3Sdk,
    readonly name: string,
    readonly url: string,
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly jobs: number,
  ) {}

  async has(keys: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    const byFolder = new Map<string, string[]>();
    for (const key of new Set(keys)) {
      const folder = key.slice(0, key.lastIndexOf('/') + 1);
      byFolder.set(folder, [...(byFolder.get(folder) ?? []), key]);
    }
    const singles: string[] = [];
    for (const [folder, group] of byFolder) {
      if (group.length < LIST_FROM) {
        singles.push(...group);
        continue;
      }
      // Many keys in one folder: one listing (1000 keys a page) beats a HEAD each.
      const present = new Set(await this.list(folder));
      for (const key of group) if (present.has(key)) found.add(key);
    }
    await boundedEach(singles, this.jobs * 2, async (key) => {
      if (await this.exists(key)) found.add(key);
    });
    return found;
  }

  private async exists(key: string): Promise<boolean> {
    try {
      await this.call(() => this.client.send(new this.sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key })));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async putFile(key: string, localPath: string): Promise<void> {
    const { size } = await stat(localPath);
    await this.putVia(key, () => createReadStream(localPath), size);
  }

  async putBytes(key: string, data: Uint8Array): Promise<void> {
    await this.putVia(key, () => data, data.byteLength);
  }

  /**
   * Uploads to a temporary key, then copies server-side to the real key: some servers
   * (s3rver) write a PUT in place, where a reader could see half an object.
   */
  private async putVia(key: string, body: () => Readable | Uint8Array, size: number): Promise<void> {
    const real = this.prefix + key;
    const temp = `${real}${PART_MARK}${randomBytes(6).toString('hex')}`;
    try {
      await this.call(() => this.client.send(new this.sdk.PutObjectCommand({ Bucket: this.bucket, Key: temp, Body: body(), ContentLength: size })));
      await this.call(() =>
        this.client.send(new this.sdk.CopyObjectCommand({ Bucket: this.bucket, Key: real, CopySource: `${this.bucket}/${encodeKey(temp)}` })),
      );
    } finally {
      // Not waited for here (close() waits): the next put need not wait a round trip. Best
      // effort: a temporary key left by a crash is invisible (list skips it).
      const removal = this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: temp })).then(
        () => undefined,
        () => undefined,
      );
      this.removals.add(removal);
      void removal.then(() => this.removals.delete(removal));
    }
  }

  async getFile(key: string, localPath: string): Promise<boolean> {
    const body = await this.getBody(key);
    if (!body) return false;
    await this.call(() => pipeline(body, createWriteStream(localPath)));
    return true;
  }

  async getBytes(key: string): Promise<Uint8Array | null> {
    const res = await this.getObject(key);
    if (!res?.Body) return null;
    const body = res.Body;
    return this.call(() => body.transformToByteArray());
  }

  private async getBody(key: string): Promise<Readable | null> {
    const res = await this.getObject(key);
    // In Node the SDK's body is an IncomingMessage (a Readable) with SDK mixins.
    return (res?.Body as Readable | undefined) ?? null;
  }

  private async getObject(key: string) {
    try {
      return await this.call(() => this.client.send(new this.sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key })));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.call(() =>
        this.client.send(new this.sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token })),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key && !o.Key.includes(PART_MARK)) keys.push(o.Key.slice(this.prefix.length));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const res = await this.call(() =>
        this.client.send(
          new this.sdk.DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Quiet: true, Objects: batch.map((k) => ({ Key: this.prefix + k })) } }),
        ),
      );
      const failed = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) throw new Error(`remote ${this.name}: cannot delete ${failed[0]!.Key}: ${failed[0]!.Message ?? failed[0]!.Code}`);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.removals);
    this.client.destroy();
  }

  /** Runs one request, turning "the server is down / refuses us" into RemoteUnavailableError. */
  async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      const reason = unavailableReason(err, this.bucket);
      if (reason) throw new RemoteUnavailableError(this.name, `${reason} (${this.url})`, { cause: err });
      throw err;
    }
  }
}

/** CopySource is a URL path: each segment encoded, the slashes kept. */
function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

function isNotFound(err: unknown): boolean {
  const e = err as SdkError;
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

/** Why a failed request means the remote is unusable right now, or undefined for other errors. */
function unavailableReason(err: unknown, bucket: string): string | undefined {
  const e = err as SdkError;
  const code = e?.code ?? '';
  const status = e?.$metadata?.httpStatusCode;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve host: ${e.message ?? code}`;
  if (code === 'ETIMEDOUT' || e?.name === 'TimeoutError' || /timed? ?out/i.test(e?.message ?? '')) return 'timed out';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'connection lost';
  if (e?.name === 'CredentialsProviderError') return `no AWS credentials (environment or ~/.aws/credentials): ${e.message}`;
  if (e?.name === 'NoSuchBucket') return `bucket ${bucket} does not exist`;
  if (status === 403 || e?.name === 'InvalidAccessKeyId' || e?.name === 'SignatureDoesNotMatch' || e?.name === 'AccessDenied') {
    return `access denied: ${e.name ?? status}`;
  }
  if (status !== undefined && status >= 500) return `server error ${status}`;
  return undefined;
}
