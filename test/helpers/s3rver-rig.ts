// A real S3 protocol server (s3rver, serving a temporary folder) on 127.0.0.1 with one
// bucket, for the S3 remote's tests and bench. s3rver accepts the key pair S3RVER/S3RVER.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

export interface S3rverRig {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  bucket: string;
  /** The folder s3rver keeps the objects in. */
  dir: string;
  stop(): Promise<void>;
}

/** Credentials s3rver accepts, set in the environment as the SDK's default chain reads them. */
export function useS3rverCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
}

export async function startS3rver(bucket = 'cache'): Promise<S3rverRig> {
  const dir = mkdtempSync(join(tmpdir(), 'brickflow-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: bucket, configs: [] }] });
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    dir,
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
