import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, stagesRan, TestProject, waitFor } from '../helpers/project-rig.ts';
import { startS3rver, useS3rverCredentials, type S3rverRig } from '../helpers/s3rver-rig.ts';
import { startSshd, type SshdRig } from '../helpers/sshd-rig.ts';

// make <- params.yaml x ; use <- make's out. Every real run of a stage appends its name to
// runs.log (not an out), so "ran nothing" is checked by what the stages did, not only by
// what the CLI printed. `files` sets how many files make writes (the kill test needs many).
const MAKE_JS = `import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
const x = Number(/x: *(\\d+)/.exec(readFileSync('params.yaml', 'utf8'))[1]);
const files = Number(/files: *(\\d+)/.exec(readFileSync('params.yaml', 'utf8'))[1]);
mkdirSync('out/sub', { recursive: true });
writeFileSync('out/a.txt', 'x=' + x + '\\n');
for (let i = 1; i < files; i++) writeFileSync('out/sub/f' + i + '.bin', Buffer.alloc(i === 1 ? 64 : 4096, (i * 7 + x) % 251));
writeFileSync('metrics.json', JSON.stringify({ score: x / 10 }));
appendFileSync('runs.log', 'make\\n');
`;
const USE_JS = `import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
writeFileSync('used.txt', readFileSync('out/a.txt', 'utf8').toUpperCase());
appendFileSync('runs.log', 'use\\n');
`;

/** `remote` is a folder or URL, or a whole remote entry (url plus known_hosts, endpoint, …). */
function pipelineYaml(remote: string | Record<string, string | number | boolean>): string {
  const entry = typeof remote === 'string' ? { url: remote } : remote;
  const fields = Object.entries({ ...entry, jobs: 4 }).map(([k, v]) => `${k}: ${v}`).join(', ');
  return `remotes:
  default: shared
  shared: {${fields}}
stages:
  make:
    cmd: node make.js
    deps: [make.js]
    params: {params.yaml: [x, files]}
    outs: [out]
    metrics: metrics.json
  use:
    cmd: node use.js
    deps: [use.js, out]
    outs: [used.txt]
`;
}

/** The project's committed files: what a `git clone` would bring (no outs, no .pipeline/). */
/** params.yaml: x goes into the outs; files is how many files make writes. */
const params = (x: number, files = 2): string => `x: ${x}\nfiles: ${files}\n`;

type Remote = Parameters<typeof pipelineYaml>[0];

function sources(remote: Remote, paramsText = params(1)): Record<string, string> {
  return { 'pipeline.yaml': pipelineYaml(remote), 'params.yaml': paramsText, 'make.js': MAKE_JS, 'use.js': USE_JS };
}

/** A fresh clone of `p`: its sources and pipeline.lock, nothing else. */
function freshClone(p: TestProject, remote: Remote): TestProject {
  const files = sources(remote, p.read('params.yaml'));
  return TestProject.create({ ...files, 'pipeline.lock': p.read('pipeline.lock') });
}

const runs = (p: TestProject): string[] => (p.exists('runs.log') ? p.read('runs.log').trim().split('\n') : []);

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** Every object in a cache folder holds the content its name says. */
function objectsAreSound(cacheDir: string): boolean {
  return filesUnder(join(cacheDir, 'objects')).every((f) => f.endsWith('.tmp') || createHash('sha256').update(readFileSync(f)).digest('hex') === f.split('/').pop());
}

describe('run cache', () => {
  const temps: string[] = [];
  const projects: TestProject[] = [];
  const newRemote = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'brickflow-remote-'));
    temps.push(dir);
    return dir;
  };
  const track = (p: TestProject): TestProject => {
    projects.push(p);
    return p;
  };
  let remote: string;
  let built: TestProject;

  beforeAll(async () => {
    remote = newRemote();
    built = track(TestProject.create(sources(remote)));
    const r = await built.cli('run');
    expect(r.code, r.stderr).toBe(0);
    expect(runs(built)).toEqual(['make', 'use']);
    const push = await built.cli('push');
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout).toMatch(/pushed 4 object\(s\).*and 2 entries to shared/);
  });
  afterAll(() => {
    for (const p of projects) p.cleanup();
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  });

  it('a fresh clone pulls from a directory remote, then run runs nothing and the outs are the builder\'s', async () => {
    const b = track(freshClone(built, remote));
    const status = await b.cli('status');
    expect(status.stdout).toMatch(/make\s+stale: out out is missing; run restores it from cache shared/);
    const pull = await b.cli('pull');
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stdout).toContain('+ make: outs restored from shared');
    const r = await b.cli('run');
    expect(r.code, r.stderr).toBe(0);
    expect(stagesRan(r.stdout)).toEqual([]);
    expect(runs(b)).toEqual([]);
    for (const f of ['out/a.txt', 'out/sub/f1.bin', 'metrics.json', 'used.txt']) expect(b.read(f)).toBe(built.read(f));
    expect(b.read('pipeline.lock')).toBe(built.read('pipeline.lock'));
  });

  it('a changed param misses the cache; reverting it restores from the local cache without running', async () => {
    const p = track(built.clone());
    p.write('params.yaml', params(2));
    const changed = await p.cli('run', '--no-remote');
    expect(stagesRan(changed.stdout)).toEqual(['make', 'use']);
    p.write('params.yaml', params(1));
    const dry = await p.cli('run', '--dry-run');
    expect(dry.stdout).toContain('would restore make from cache local: param x in params.yaml changed');
    const reverted = await p.cli('run', '--no-remote');
    expect(reverted.code, reverted.stderr).toBe(0);
    expect(reverted.stdout).toContain('< make: restored from cache local (param x in params.yaml changed)');
    expect(reverted.stdout).toMatch(/use\s+restored from cache local/);
    expect(runs(p)).toEqual(['make', 'use', 'make', 'use']);
    expect(p.read('out/a.txt')).toBe('x=1\n');
    expect(p.read('used.txt')).toBe('X=1\n');
    expect(JSON.parse(p.read('pipeline.lock')).stages.make.metrics).toEqual({ score: 0.1 });
    expect(stagesRan((await p.cli('run')).stdout)).toEqual([]);
  });

  it('a corrupted remote object is detected, never used nor kept, and the stage is rebuilt', async () => {
    const r2 = newRemote();
    const a = track(built.clone());
    a.write('pipeline.yaml', pipelineYaml(r2));
    expect((await a.cli('push')).code).toBe(0);
    // The object holding out/a.txt ("x=1\n") gets other bytes of the same length.
    const sha = createHash('sha256').update('x=1\n').digest('hex');
    writeFileSync(join(r2, 'objects', sha.slice(0, 2), sha), 'x=9\n');
    const b = track(freshClone(a, r2));
    const r = await b.cli('run');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/stage make: cached outs from shared not used: object objects\/[0-9a-f]{2}\/[0-9a-f]{64} from remote shared is corrupt/);
    expect(stagesRan(r.stdout)).toContain('make');
    expect(b.read('out/a.txt')).toBe('x=1\n');
    expect(objectsAreSound(b.path('.pipeline/cache'))).toBe(true);
    expect(existsSync(join(r2, 'objects', sha.slice(0, 2), sha))).toBe(false); // never served again
  });

  it('a remote that cannot be reached costs one warning line, and the run builds', async () => {
    for (const url of [join(newRemote(), 'not-mounted'), join(built.path('params.yaml'))]) {
      const b = track(freshClone(built, url));
      const r = await b.cli('run');
      expect(r.code, r.stderr).toBe(0);
      expect(stagesRan(r.stdout)).toEqual(['make', 'use']);
      const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning:'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^warning: remote shared unavailable: .*; building what the local cache lacks$/);
    }
    // An explicit push does fail, naming the reason.
    const b = projects[projects.length - 1]!;
    const push = await b.cli('push');
    expect(push.code).toBe(1);
    expect(push.stderr).toMatch(/^error: remote shared unavailable: .* is not a folder$/m);
  });

  it('two pushes of the same entry at once both succeed and leave one sound entry', async () => {
    const r3 = newRemote();
    const a = track(built.clone());
    const b = track(built.clone());
    for (const p of [a, b]) p.write('pipeline.yaml', pipelineYaml(r3));
    const [ra, rb] = await Promise.all([a.cli('push'), b.cli('push')]);
    expect([ra.code, rb.code], ra.stderr + rb.stderr).toEqual([0, 0]);
    expect(filesUnder(r3).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(readdirSync(join(r3, 'entries'))).toHaveLength(2);
    expect(objectsAreSound(r3)).toBe(true);
    const c = track(freshClone(a, r3));
    expect((await c.cli('pull')).code).toBe(0);
    expect(stagesRan((await c.cli('run')).stdout)).toEqual([]);
  });

  it('a push killed with SIGKILL half way leaves no visible entry; the next push completes it', async () => {
    const r4 = newRemote();
    const a = track(TestProject.create({ ...sources(r4, params(5, 1500)) }));
    a.write('pipeline.yaml', pipelineYaml(r4).replace('jobs: 4', 'jobs: 1'));
    expect((await a.cli('run', 'make')).code).toBe(0);
    const child = a.spawn(['push', 'make']);
    const done = collect(child);
    // Killed once the first object is in place: thousands more (and the entry) are still to go.
    await waitFor(() => filesUnder(join(r4, 'objects')).some((f) => !f.endsWith('.tmp')));
    child.kill('SIGKILL');
    expect((await done).code).toBe(null);
    expect(filesUnder(join(r4, 'entries'))).toEqual([]);
    expect(objectsAreSound(r4)).toBe(true);
    // Nothing to pull: a fresh clone builds.
    const b = track(freshClone(a, r4));
    const pull = await b.cli('pull', 'make');
    expect(pull.code).toBe(1);
    expect(pull.stderr).toContain('x make: no cache entry for the inputs pipeline.lock records');
    const again = await a.cli('push', 'make');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/[1-9]\d* object\(s\) were there already/);
    expect(readdirSync(join(r4, 'entries'))).toHaveLength(1);
  });

  it('cache: false keeps a stage out of the cache; gc drops entries no lock refers to', async () => {
    const p = track(built.clone());
    p.write('pipeline.yaml', pipelineYaml(remote).replace('    outs: [used.txt]', '    outs: [used.txt]\n    cache: false'));
    p.remove('used.txt');
    const r = await p.cli('run', '--no-remote');
    expect(stagesRan(r.stdout)).toEqual(['use']);
    p.write('params.yaml', params(3));
    expect(stagesRan((await p.cli('run', '--no-remote')).stdout)).toEqual(['make', 'use']);
    const entries = (): number => readdirSync(p.path('.pipeline/cache/entries')).length;
    const before = entries();
    const gc = await p.cli('cache', 'gc');
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stdout).toMatch(/^removed [1-9]\d* entr/);
    expect(entries()).toBeLessThan(before);
    expect(entries()).toBe(1); // make with x: 3, the one pipeline.lock names (not a git repo)
    expect(objectsAreSound(p.path('.pipeline/cache'))).toBe(true);
    p.write('params.yaml', params(1));
    expect(stagesRan((await p.cli('run', '--no-remote')).stdout)).toEqual(['make', 'use']);
  });

  it('a bad remotes: config stops the run at file:line:col', async () => {
    const p = track(TestProject.create({ ...sources('ftp://host/x') }));
    const r = await p.cli('run');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pipeline.yaml:3:17: error: remote "shared": url ftp://host/x has a scheme no store understands');
    mkdirSync(p.path('.pipeline'), { recursive: true });
    p.write('.pipeline/config.yaml', 'remotes:\n  shared: {url: /nowhere, jobz: 2}\n');
    const local = await p.cli('run');
    expect(local.code).toBe(2);
    expect(local.stderr).toMatch(/\.pipeline\/config\.yaml:2:27: error: unknown key "jobz" in remotes\.shared/);
  });
});

// The same promise through the real servers: the CLI pushes to an SFTP server (OpenSSH on
// 127.0.0.1) and to an S3 server (s3rver on 127.0.0.1), and a fresh clone pulls and runs nothing.
describe('run cache over SFTP and S3', () => {
  let sshd: SshdRig;
  let s3: S3rverRig;
  const projects: TestProject[] = [];
  beforeAll(async () => {
    useS3rverCredentials(); // inherited by the CLI's processes, as a user's AWS_* variables would be
    [sshd, s3] = await Promise.all([startSshd(), startS3rver()]);
  });
  afterAll(async () => {
    for (const p of projects) p.cleanup();
    await Promise.all([sshd?.stop(), s3?.stop()]);
  });

  const remotes = (): Record<string, Remote> => ({
    sftp: { url: `ssh://root@127.0.0.1:${sshd.port}${sshd.dir}/cache`, known_hosts: sshd.knownHosts, identity_file: sshd.userKey, timeout_s: 20 },
    s3: { url: `s3://${s3.bucket}/team`, endpoint: s3.endpoint, region: 'us-east-1', force_path_style: true, timeout_s: 20 },
  });

  for (const kind of ['sftp', 's3'] as const) {
    it(`${kind}: one clone runs and pushes; a fresh clone pulls, then run runs nothing`, async () => {
      const remote = remotes()[kind]!;
      const a = TestProject.create(sources(remote, params(4, 12)));
      projects.push(a);
      expect((await a.cli('run')).code).toBe(0);
      const push = await a.cli('push');
      expect(push.code, push.stderr).toBe(0);
      expect(push.stdout).toMatch(/pushed 1[0-9] object\(s\).*and 2 entries to shared/);
      const b = freshClone(a, remote);
      projects.push(b);
      const pull = await b.cli('pull');
      expect(pull.code, pull.stderr).toBe(0);
      const r = await b.cli('run');
      expect(r.code, r.stderr).toBe(0);
      expect(stagesRan(r.stdout)).toEqual([]);
      expect(runs(b)).toEqual([]);
      for (const f of ['out/a.txt', 'out/sub/f11.bin', 'metrics.json', 'used.txt']) expect(b.read(f)).toBe(a.read(f));
    });
  }

  it('an SSH remote that refuses connections costs one warning line, and the run builds', async () => {
    const b = TestProject.create(sources({ url: 'ssh://root@127.0.0.1:1/cache', known_hosts: sshd.knownHosts, identity_file: sshd.userKey, timeout_s: 5 }));
    projects.push(b);
    const r = await b.cli('run');
    expect(r.code, r.stderr).toBe(0);
    expect(stagesRan(r.stdout)).toEqual(['make', 'use']);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    expect(warnings).toEqual([expect.stringMatching(/^warning: remote shared unavailable: .*refused.*; building what the local cache lacks$/)]);
  });
});
