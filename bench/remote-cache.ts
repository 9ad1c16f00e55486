/**
 * Run-cache remote throughput on 127.0.0.1: a tree shaped like the demo's augment-cache plus
 * model (many ~32 KB blobs and a few large files, random bytes) is pushed to and pulled from
 *   - the SFTP store (the sshd test rig) beside rsync over the same strict ssh options,
 *   - the S3 store (s3rver) beside raw SDK PutObject/GetObject on the same server,
 * then pushed and pulled again when everything is already there (no-op). Push = one batched
 * `has` over all keys, then the missing files with `--jobs` transfers at once; pull = the
 * entry manifest, then every file (a no-op pull finds them all locally and reads only the
 * manifest). Prints MB/s, ratios to the peer and the load average (this machine is shared).
 *
 * usage: node --import tsx bench/remote-cache.ts [--small 6000] [--large-mb 48] [--large 2] [--jobs 8] [--only sftp|s3]
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { boundedEach } from '../src/engine/bounded-each.ts';
import type { ObjectStore, RemoteSpec } from '../src/engine/remote/object-store.ts';
import { openS3Store } from '../src/engine/remote/s3-store.ts';
import { openSftpStore } from '../src/engine/remote/sftp-store.ts';
import { sshOptions } from '../src/ssh/ssh-options.ts';
import { startS3rver, useS3rverCredentials } from '../test/helpers/s3rver-rig.ts';
import { startSshd } from '../test/helpers/sshd-rig.ts';

const { values } = parseArgs({
  options: {
    small: { type: 'string', default: '6000' },
    'large-mb': { type: 'string', default: '48' },
    large: { type: 'string', default: '2' },
    jobs: { type: 'string', default: '8' },
    only: { type: 'string' },
  },
});
const jobs = Number(values.jobs);
const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');

// ---- the tree: objects/<sha[0:2]>/<sha[2:]>, as the run cache stores files ----
const work = mkdtempSync(join(tmpdir(), 'brickflow-remote-bench-'));
const tree = join(work, 'tree');
interface Blob {
  key: string;
  path: string;
  size: number;
}
const blobs: Blob[] = [];
function addBlob(data: Buffer): void {
  const sha = createHash('sha256').update(data).digest('hex');
  const key = `objects/${sha.slice(0, 2)}/${sha.slice(2)}`;
  const path = join(tree, key);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
  blobs.push({ key, path, size: data.length });
}
for (let i = 0; i < Number(values.small); i++) addBlob(randomBytes(24 * 1024 + Math.floor(Math.random() * 16 * 1024)));
for (let i = 0; i < Number(values.large); i++) addBlob(randomBytes(Number(values['large-mb']) * 1024 * 1024));
const totalBytes = blobs.reduce((s, b) => s + b.size, 0);
const totalMB = totalBytes / 1e6;
const manifest = new TextEncoder().encode(JSON.stringify(blobs.map((b) => b.key)));
console.log(`tree: ${blobs.length} files, ${totalMB.toFixed(0)} MB (${values.small} of ~32 KB, ${values.large} of ${values['large-mb']} MiB); ${jobs} transfers at once`);

async function timed(label: string, work: () => Promise<void> | void, bytes = totalBytes): Promise<number> {
  const start = performance.now();
  await work();
  const s = (performance.now() - start) / 1000;
  const rate = bytes > 0 ? `  ${(bytes / 1e6 / s).toFixed(1).padStart(6)} MB/s` : '';
  console.log(`  ${label.padEnd(34)} ${s.toFixed(2).padStart(7)} s${rate}   (load ${load()})`);
  return s;
}

async function storePush(store: ObjectStore): Promise<void> {
  const present = await store.has(blobs.map((b) => b.key));
  await boundedEach(blobs.filter((b) => !present.has(b.key)), jobs, (b) => store.putFile(b.key, b.path));
  await store.putBytes('entries/bench.json', manifest);
}

async function storePull(store: ObjectStore, into: string): Promise<void> {
  const keys = JSON.parse(new TextDecoder().decode((await store.getBytes('entries/bench.json'))!)) as string[];
  const missing = keys.filter((k) => !existsSync(join(into, k)));
  await boundedEach(missing, jobs, async (key) => {
    const target = join(into, key);
    mkdirSync(dirname(target), { recursive: true });
    if (!(await store.getFile(key, target))) throw new Error(`${key} missing on the remote`);
  });
}

function checkPulled(into: string): void {
  for (const b of [blobs[0]!, blobs.at(-1)!]) {
    if (!readFileSync(join(into, b.key)).equals(readFileSync(b.path))) throw new Error(`${b.key} differs after pull`);
  }
  if (blobs.some((b) => statSync(join(into, b.key)).size !== b.size)) throw new Error('a pulled file has the wrong size');
}

function ratio(ours: number, peer: number, peerName: string): void {
  console.log(`  -> store at ${(peer / ours).toFixed(2)}x the speed of ${peerName}`);
}

// ---- SFTP vs rsync over the same ssh ----
async function benchSftp(): Promise<void> {
  const rig = await startSshd();
  try {
    const remoteRoot = join(rig.dir, 'server');
    mkdirSync(remoteRoot);
    const spec: RemoteSpec = { url: `ssh://root@127.0.0.1:${rig.port}${remoteRoot}/cache`, known_hosts: rig.knownHosts, identity_file: rig.userKey, jobs };
    const endpoint = { host: '127.0.0.1', user: 'root', port: rig.port, identityFile: rig.userKey, knownHosts: rig.knownHosts, connectTimeoutS: 10 };
    const rsyncSsh = ['ssh', ...sshOptions(endpoint), '-l', 'root'].join(' ');
    const rsync = (from: string, to: string): void => {
      const r = spawnSync('rsync', ['-a', '-e', rsyncSsh, from, to], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`rsync failed: ${r.stderr}`);
    };
    console.log(`\nSFTP store vs rsync, OpenSSH sshd on 127.0.0.1`);
    const pulled = join(work, 'sftp-pulled');
    const { push, pull } = await benchStore(await openSftpStore('bench', spec), pulled);
    const rsyncPush = await timed('rsync push', () => rsync(`${tree}/`, `127.0.0.1:${remoteRoot}/rsync/`));
    const rsyncPull = await timed('rsync pull', () => rsync(`127.0.0.1:${remoteRoot}/rsync/`, join(work, 'rsync-pulled/')));
    await timed('rsync no-op push', () => rsync(`${tree}/`, `127.0.0.1:${remoteRoot}/rsync/`), 0);
    ratio(push, rsyncPush, 'rsync (push)');
    ratio(pull, rsyncPull, 'rsync (pull)');
    rmSync(pulled, { recursive: true, force: true });
    rmSync(join(work, 'rsync-pulled'), { recursive: true, force: true });
  } finally {
    await rig.stop();
  }
}

/** A store's push and pull of the tree (then both again as no-ops), closing it after. */
async function benchStore(store: ObjectStore, pulled: string): Promise<{ push: number; pull: number }> {
  try {
    const push = await timed('store push', () => storePush(store));
    const pull = await timed('store pull', () => storePull(store, pulled));
    checkPulled(pulled);
    await timed('store no-op push (has of all keys)', () => storePush(store), 0);
    await timed('store no-op pull (all present)', () => storePull(store, pulled), 0);
    return { push, pull };
  } finally {
    await store.close();
  }
}

// ---- S3 store vs raw SDK calls on s3rver ----
async function benchS3(): Promise<void> {
  useS3rverCredentials();
  const s3 = await startS3rver();
  try {
    console.log(`\nS3 store vs raw SDK PutObject/GetObject, s3rver on 127.0.0.1`);
    const spec: RemoteSpec = { url: `s3://${s3.bucket}/cache`, endpoint: s3.endpoint, region: 'us-east-1', force_path_style: true, jobs };
    const pulled = join(work, 's3-pulled');
    const { push, pull } = await benchStore(await openS3Store('bench', spec), pulled);

    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
    const rawPulled = join(work, 's3-raw-pulled');
    const rawPush = await timed('raw SDK PutObject', () =>
      boundedEach(blobs, jobs, async (b) => {
        await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `raw/${b.key}`, Body: createReadStream(b.path), ContentLength: b.size }));
      }),
    );
    const rawPull = await timed('raw SDK GetObject', () =>
      boundedEach(blobs, jobs, async (b) => {
        const res = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `raw/${b.key}` }));
        const target = join(rawPulled, b.key);
        mkdirSync(dirname(target), { recursive: true });
        await pipeline(res.Body as Readable, createWriteStream(target));
      }),
    );
    client.destroy();
    ratio(push, rawPush, 'raw PutObject (push; the store also copies each temp key server-side)');
    ratio(pull, rawPull, 'raw GetObject (pull)');
  } finally {
    await s3.stop();
  }
}

try {
  if (values.only !== 's3') await benchSftp();
  if (values.only !== 'sftp') await benchS3();
} finally {
  rmSync(work, { recursive: true, force: true });
}
