// The S3 remote against a real S3 protocol server (s3rver) on 127.0.0.1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openS3Store, parseS3Url } from '../../src/engine/remote/s3-store.ts';
import { RemoteUnavailableError } from '../../src/engine/remote/remote-unavailable.ts';
import type { RemoteSpec } from '../../src/engine/remote/object-store.ts';
import { startSilentServer } from '../helpers/silent-server.ts';
import { startS3rver, useS3rverCredentials, type S3rverRig } from '../helpers/s3rver-rig.ts';
import { storeContract } from './store-contract.ts';

let rig: S3rverRig;

beforeAll(async () => {
  useS3rverCredentials();
  rig = await startS3rver();
});
afterAll(async () => rig?.stop());

const specFor = (url: string, endpoint = rig.endpoint): RemoteSpec => ({ url, endpoint, region: 'us-east-1', force_path_style: true, timeout_s: 5 });

describe('S3 store on s3rver', () => {
  storeContract({
    spec: () => specFor(`s3://${rig.bucket}/team/cache`),
    open: (spec) => openS3Store('s3test', spec),
    serverDir: () => rig.dir,
  });

  it('keeps its keys under the URL prefix', async () => {
    const a = await openS3Store('a', specFor(`s3://${rig.bucket}/one`));
    const b = await openS3Store('b', specFor(`s3://${rig.bucket}/two/`));
    try {
      await a.putBytes('entries/x.json', new Uint8Array([7]));
      expect(await b.has(['entries/x.json'])).toEqual(new Set());
      expect(await a.list('entries/')).toEqual(['entries/x.json']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a server that refuses connections is RemoteUnavailableError, not a crash', async () => {
    const err = await openS3Store('down', specFor(`s3://${rig.bucket}/x`, 'http://127.0.0.1:1')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteUnavailableError);
    expect((err as Error).message).toMatch(/remote down unavailable: connection refused/);
  });

  it('a server that accepts the connection but never answers is RemoteUnavailableError after timeout_s', async () => {
    const silent = await startSilentServer();
    try {
      const spec = { ...specFor(`s3://${rig.bucket}/x`, `http://127.0.0.1:${silent.port}`), timeout_s: 1 };
      const err = await openS3Store('hung', spec).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteUnavailableError);
      expect((err as Error).message).toMatch(/remote hung unavailable: timed out/);
    } finally {
      await silent.stop();
    }
  });

  it('a bucket that does not exist is RemoteUnavailableError naming it', async () => {
    const err = await openS3Store('nobucket', specFor('s3://no-such-bucket/x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteUnavailableError);
    expect((err as Error).message).toMatch(/bucket no-such-bucket does not exist/);
  });

  it('credentials the server rejects are RemoteUnavailableError (access denied), read from the environment', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'NOT-A-KEY';
    try {
      const err = await openS3Store('denied', specFor(`s3://${rig.bucket}/x`)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteUnavailableError);
      expect((err as Error).message).toMatch(/access denied/);
    } finally {
      useS3rverCredentials();
    }
  });

  it('parses s3:// URLs and rejects others', () => {
    expect(parseS3Url('s3://b')).toEqual({ bucket: 'b', prefix: '' });
    expect(parseS3Url('s3://b/p/q/')).toEqual({ bucket: 'b', prefix: 'p/q/' });
    expect(() => parseS3Url('http://b/p')).toThrow(/not an s3:\/\/ URL/);
  });
});
