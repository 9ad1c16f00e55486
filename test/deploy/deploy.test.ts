// The deploy stage and `pipeline rollback` against a real sshd on 127.0.0.1 playing the Pi.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { freePort, startSshd, type SshdRig } from '../helpers/sshd-rig.ts';
import { pidExists } from '../../src/engine/process-identity.ts';
import { writeTinyModel } from './tiny-onnx.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const tsx = import.meta.resolve('tsx');

interface Project {
  root: string;
  remoteDir: string;
  onnxDir: string;
  config: Record<string, unknown>;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let rig: SshdRig;
const cleanup: string[] = [];

beforeAll(async () => {
  rig = await startSshd();
});

afterAll(async () => {
  await rig?.stop();
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

async function makeProject(overrides: { target?: Record<string, unknown> | null; port?: number; knownHosts?: string } = {}): Promise<Project> {
  const root = mkdtempSync(join(tmpdir(), 'brickflow-deploy-project-'));
  cleanup.push(root);
  const remoteDir = join(root, 'pi-home', 'brickflow');
  const onnxDir = join(root, 'artifacts', 'onnx');
  mkdirSync(onnxDir, { recursive: true });
  mkdirSync(join(root, 'config'));
  writeFileSync(join(root, 'pipeline.yaml'), 'stages:\n  deploy:\n    run: stages/deploy.ts\n    deps: [artifacts/onnx]\n    params: {config/deploy.yaml: [target, smoke_test]}\n    metrics: artifacts/metrics/deploy.json\n');
  await writeTinyModel(onnxDir, 1);
  const target = overrides.target === null ? null : {
    host: '127.0.0.1',
    user: 'root',
    port: overrides.port ?? rig.port,
    identity_file: rig.userKey,
    known_hosts: overrides.knownHosts ?? rig.knownHosts,
    remote_dir: remoteDir,
    connect_timeout_s: 5,
    keep_versions: 3,
    runtime: { node: process.execPath, modules: join(repo, 'node_modules') },
    ...overrides.target,
  };
  const config = { target, smoke_test: { samples: 4, max_abs_diff: 1e-4, warmup_runs: 2, latency_runs: 20 } };
  writeFileSync(join(root, 'config', 'deploy.yaml'), toYaml(config));
  return { root, remoteDir, onnxDir, config };
}

function stageEnv(p: Project): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PIPELINE_STAGE: 'deploy',
    PIPELINE_ROOT: p.root,
    PIPELINE_PARAMS: JSON.stringify({ 'config/deploy.yaml': p.config }),
    PIPELINE_DEPS: JSON.stringify(['artifacts/onnx']),
    PIPELINE_OUTS: '[]',
    PIPELINE_METRICS: 'artifacts/metrics/deploy.json',
  };
}

function run(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((res) => {
    const child = spawn(process.execPath, ['--import', tsx, ...args], { cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => res({ code, stdout, stderr }));
  });
}

/** Deploys and fails the test with the stage's stderr when it did not succeed. */
async function deployOk(p: Project): Promise<Run> {
  const r = await deploy(p);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

const deploy = (p: Project) => run([join(repo, 'stages/deploy.ts')], p.root, stageEnv(p));
/** `pipeline rollback ...` through the real CLI entry point, from the project folder. */
const rollbackCli = (p: Project, ...argv: string[]) =>
  new Promise<Run>((res) => {
    const child = spawn(process.execPath, [join(repo, 'bin/pipeline.js'), 'rollback', ...argv], { cwd: p.root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => res({ code, stdout, stderr }));
  });

/** `pipeline ...` through the real CLI in the project, which runs the repo's real stage and libraries. */
function pipelineCli(p: Project): (...argv: string[]) => Promise<Run> {
  for (const d of ['stages', 'src', 'schemas', 'node_modules']) if (!existsSync(join(p.root, d))) symlinkSync(join(repo, d), join(p.root, d));
  return (...argv) => run([join(repo, 'bin/pipeline.js'), ...argv], p.root);
}

const currentVersion = (p: Project) => readlinkSync(join(p.remoteDir, 'current')).replace(/^versions\//, '');
const versions = (p: Project) => readdirSync(join(p.remoteDir, 'versions')).sort();
const metrics = (p: Project) => JSON.parse(readFileSync(join(p.root, 'artifacts/metrics/deploy.json'), 'utf8')) as Record<string, unknown> & { detail: Record<string, unknown> };
const deployedModel = (p: Project) => readFileSync(join(p.remoteDir, 'current', 'model.onnx'));

// Each test has its own project and device folder and all share one sshd. They run one at a
// time: each starts ssh, rsync, onnxruntime and tsx processes, too many at once for 2 cores.
describe('deploy stage', () => {
  it('with no target configured, says why, writes a skipped status and exits 0', async () => {
    const p = await makeProject({ target: null });
    const r = await deploy(p);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('skipped: no deploy target configured in config/deploy.yaml');
    expect(metrics(p)).toEqual({ status: 'skipped', reason: 'no deploy target configured in config/deploy.yaml' });
  });

  it('through `pipeline run`: deploys, gates on the device latency, then is fresh until the model changes', async () => {
    const p = await makeProject();
    writeFileSync(join(p.root, 'pipeline.yaml'), [
      'stages:',
      '  deploy:',
      '    run: stages/deploy.ts',
      '    deps: [artifacts/onnx]',
      '    params: {config/deploy.yaml: [target, smoke_test]}',
      '    metrics: artifacts/metrics/deploy.json',
      '    gates: {device_latency_ms_p95: "<= 100000", smoke_top1_agreement: ">= 1"}',
      '',
    ].join('\n'));
    const pipeline = pipelineCli(p);
    const first = await pipeline('run');
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toMatch(/deploy\s+device_latency_ms_p95\s+[\d.]+\s+<= 100000\s+PASS/);
    const v1 = currentVersion(p);
    const again = await pipeline('run');
    expect(again.code).toBe(0);
    expect(currentVersion(p)).toBe(v1); // fresh: nothing shipped again

    await writeTinyModel(p.onnxDir, 2);
    const status = await pipeline('status');
    expect(status.stdout).toContain('artifacts/onnx');
    const changed = await pipeline('run');
    expect(changed.code, changed.stdout + changed.stderr).toBe(0);
    expect(currentVersion(p)).not.toBe(v1);
  });

  it('after `pipeline rollback`, status says deploy is stale and which version is live', async () => {
    const p = await makeProject();
    const pipeline = pipelineCli(p);
    await deployOk(p);
    const v1 = currentVersion(p);
    await writeTinyModel(p.onnxDir, 2);
    const shipped = await pipeline('run');
    expect(shipped.code, shipped.stdout + shipped.stderr).toBe(0);
    const v2 = currentVersion(p);

    // After a rollback the device no longer runs what the pipeline shipped: status says so.
    const back = await pipeline('rollback');
    expect(back.code, back.stderr).toBe(0);
    expect(currentVersion(p)).toBe(v1);
    const afterRollback = await pipeline('status');
    expect(afterRollback.stdout).toMatch(new RegExp(`deploy.*rolled back on the device: ${v1} is live, not ${v2}`));
  });

  it('a candidate that misses the latency gate never goes live: current is unchanged and the run exits 3', async () => {
    const p = await makeProject();
    const pipeline = pipelineCli(p);
    await deployOk(p);
    const v1 = currentVersion(p);
    const smoke = (p.config.smoke_test as Record<string, unknown>);
    writeFileSync(join(p.root, 'config', 'deploy.yaml'), toYaml({ ...p.config, smoke_test: { ...smoke, latency_gate: { percentile: 'p99', max_ms: 1e-9 } } }));
    await writeTinyModel(p.onnxDir, 2);
    const missed = await pipeline('run');
    expect(missed.code, missed.stdout + missed.stderr).toBe(3);
    expect(missed.stderr).toMatch(/latency gate: p99 [\d.]+ ms > 1e-9 ms .*over 20 runs p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms.*rejected, current left at /);
    expect(currentVersion(p)).toBe(v1);
    expect(versions(p)).toEqual([v1]);
    expect(readdirSync(join(p.remoteDir, 'candidates'))).toEqual([]);
  });

  it('rejects a config with a password (keys only), naming the file and the key', async () => {
    const p = await makeProject({ target: { password: 'raspberry' } });
    const r = await deploy(p);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/invalid deploy settings:\n {2}config\/deploy\.yaml:\d+:\d+: unknown key "password" in target/);
    const cli = await rollbackCli(p);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/config\/deploy\.yaml:\d+:\d+: unknown key "password" in target/);
  });

  it('deploys, redeploys a new model, rolls back to the first and prunes old versions', async () => {
    const p = await makeProject({ target: { keep_versions: 2 } });
    await writeTinyModel(p.onnxDir, 1, 16, 3); // with the PNG test images the export stage leaves in samples/
    const first = await deploy(p);
    expect(first.stderr).toBe('');
    expect(first.code, first.stderr).toBe(0);
    const v1 = currentVersion(p);
    expect(deployedModel(p)).toEqual(readFileSync(join(p.onnxDir, 'model.onnx')));
    const m1 = metrics(p);
    expect(m1.status).toBe('deployed');
    expect(m1.detail.version).toBe(v1);
    expect(m1.smoke_top1_agreement).toBe(1);
    expect(m1.detail).toMatchObject({ samples: 3, sample_origin: 'images' });
    expect(m1.smoke_max_abs_diff as number).toBeLessThanOrEqual(1e-4);
    expect(m1.device_latency_ms_p95 as number).toBeGreaterThan(0);
    expect(m1.device_latency_ms_p95 as number).toBeGreaterThanOrEqual(m1.device_latency_ms_p50 as number);
    // The device can verify its own copy.
    expect(() => execFileSync('sha256sum', ['--check', '--quiet', 'SHA256SUMS'], { cwd: join(p.remoteDir, 'current') })).not.toThrow();

    await writeTinyModel(p.onnxDir, 2);
    const second = await deploy(p);
    expect(second.code, second.stderr).toBe(0);
    const v2 = currentVersion(p);
    expect(v2).not.toBe(v1);
    expect(second.stdout).toContain(`(was ${v1})`);
    expect(deployedModel(p)).toEqual(readFileSync(join(p.onnxDir, 'model.onnx')));
    expect(versions(p)).toEqual([v1, v2]);
    // Unchanged files (the device script) are hard-linked to the previous version, not re-sent.
    const script = (v: string) => statSync(join(p.remoteDir, 'versions', v, 'device', 'onnx-smoke.mjs'));
    expect(script(v2).ino).toBe(script(v1).ino);

    const listed = await rollbackCli(p, '--list');
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toBe(`  ${v1}\n* ${v2}\n`);

    const back = await rollbackCli(p);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain(`${v1} is live (was ${v2})`);
    expect(currentVersion(p)).toBe(v1);
    expect(readFileSync(join(p.remoteDir, 'history.log'), 'utf8')).toMatch(new RegExp(`deploy ${v1}\\n.* deploy ${v2}\\n.* rollback ${v1}\\n$`));

    const again = await rollbackCli(p);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`no version older than ${v1}`);

    const forward = await rollbackCli(p, '--to', v2);
    expect(forward.code, forward.stderr).toBe(0);
    expect(currentVersion(p)).toBe(v2);

    // keep_versions: 2 -> a third deploy prunes the oldest, keeping the live one and its predecessor.
    await writeTinyModel(p.onnxDir, 3);
    const third = await deploy(p);
    expect(third.code, third.stderr).toBe(0);
    const v3 = currentVersion(p);
    expect(versions(p)).toEqual([v2, v3]);
    expect(metrics(p).detail.removed_versions).toEqual([v1]);
  });

  it('an upload killed mid-transfer leaves current on the old verified model, and the next deploy cleans up', async () => {
    const p = await makeProject({ target: { bandwidth_limit_kbps: 256 } });
    await deployOk(p);
    const v1 = currentVersion(p);
    const oldModel = deployedModel(p);

    await writeTinyModel(p.onnxDir, 2);
    writeFileSync(join(p.onnxDir, 'lookup-table.bin'), randomBytes(3 * 1024 * 1024)); // ~12 s at 256 KiB/s
    const child = spawn(process.execPath, ['--import', tsx, join(repo, 'stages/deploy.ts')], { cwd: p.root, env: stageEnv(p), detached: true, stdio: 'ignore' });
    const exited = new Promise((r) => child.on('exit', r));
    const incomingHasData = () => {
      const dir = join(p.remoteDir, 'candidates');
      return readdirSync(dir).some((d) => hasPartialData(join(dir, d)));
    };
    for (let i = 0; i < 600 && !incomingHasData(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(incomingHasData()).toBe(true);
    process.kill(-child.pid!, 'SIGKILL'); // the stage, its rsync and ssh: like pulling the plug
    await exited;

    expect(currentVersion(p)).toBe(v1);
    expect(deployedModel(p)).toEqual(oldModel);
    expect(versions(p)).toEqual([v1]);
    expect(() => execFileSync('sha256sum', ['--check', '--quiet', 'SHA256SUMS'], { cwd: join(p.remoteDir, 'current') })).not.toThrow();

    rmSync(join(p.onnxDir, 'lookup-table.bin'));
    p.config = { ...p.config, target: { ...(p.config.target as object), bandwidth_limit_kbps: 0 } };
    const next = await deploy(p);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stdout).toMatch(/removed a candidate left by an interrupted deploy: .*candidates\//);
    expect(readdirSync(join(p.remoteDir, 'candidates'))).toEqual([]);
    expect(deployedModel(p)).toEqual(readFileSync(join(p.onnxDir, 'model.onnx')));
  });

  it('restarts the configured service and rolls back by itself when its health check fails', async () => {
    let healthy = true;
    const server = createServer((req, res) => {
      res.writeHead(healthy && req.url === '/health' ? 200 : 503).end();
    });
    const port = await new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
    try {
      const p = await makeProject({ target: { service: { restart: 'echo "$(readlink current)" >> restarts.log', health_url: `http://127.0.0.1:${port}/health`, health_timeout_s: 2 } } });
      const first = await deploy(p);
      expect(first.code, first.stderr).toBe(0);
      const v1 = currentVersion(p);
      expect(first.stdout).toContain('service healthy');
      expect(readFileSync(join(p.remoteDir, 'restarts.log'), 'utf8')).toBe(`versions/${v1}\n`);

      healthy = false;
      await writeTinyModel(p.onnxDir, 2);
      const second = await deploy(p);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`health check http://127.0.0.1:${port}/health: HTTP 503`);
      expect(second.stderr).toContain(`rolled back to ${v1}`);
      expect(currentVersion(p)).toBe(v1);
      // Restarted on the new version, then again on the old one after the roll back.
      const restarts = readFileSync(join(p.remoteDir, 'restarts.log'), 'utf8').trim().split('\n');
      expect(restarts).toHaveLength(3);
      expect(restarts[2]).toBe(`versions/${v1}`);
      // It went live for a moment, so history.log says so, and that it was rejected; it is gone.
      const v2 = /rejected (\S+)\n$/.exec(readFileSync(join(p.remoteDir, 'history.log'), 'utf8'))?.[1];
      expect(restarts[1]).toBe(`versions/${v2}`);
      expect(versions(p)).toEqual([v1]);
      expect((await rollbackCli(p, '--list')).stdout).toBe(`* ${v1}\n`);
      expect((await rollbackCli(p, '--to', v2!)).stderr).toContain(`no complete version ${v2}`);
    } finally {
      server.close();
    }
  });

  it('refuses to deploy while another deploy holds the device lock', async () => {
    const p = await makeProject();
    mkdirSync(p.remoteDir, { recursive: true });
    // Another deploy, as the device sees it: a process holding flock on .deploy.lock.
    const holder = spawn('flock', [join(p.remoteDir, '.deploy.lock'), '-c', 'echo held; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    await new Promise((r) => holder.stdout.once('data', r));
    try {
      const r = await deploy(p);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`deploy: failed (device-busy): another deploy or rollback is running on root@127.0.0.1:${rig.port}: it holds ${p.remoteDir}/.deploy.lock`);
      expect(existsSync(join(p.remoteDir, 'versions'))).toBe(false);
    } finally {
      process.kill(-holder.pid!, 'SIGKILL'); // flock and the sleep that inherited the lock
    }
  });

  it('refuses a device whose host key differs from known_hosts, printing the fingerprint it presented', async () => {
    const fakeKey = join(rig.dir, 'impostor');
    if (!existsSync(fakeKey)) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', fakeKey]);
    const knownHosts = join(rig.dir, 'known_hosts_wrong');
    const fakePub = readFileSync(`${fakeKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(knownHosts, `[127.0.0.1]:${rig.port} ${fakePub}\n`);
    const p = await makeProject({ knownHosts });
    const r = await deploy(p);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('does NOT match the one in');
    expect(r.stderr).toContain(rig.hostFingerprint);
    expect(existsSync(join(p.remoteDir, 'current'))).toBe(false);
  });

  it('refuses a device missing from known_hosts, printing the fingerprint and the line to accept', async () => {
    const knownHosts = join(rig.dir, 'known_hosts_empty');
    writeFileSync(knownHosts, '');
    const p = await makeProject({ knownHosts });
    const r = await deploy(p);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the host key of 127.0.0.1:${rig.port} is not in ${knownHosts}`);
    expect(r.stderr).toContain(rig.hostFingerprint);
    expect(r.stderr).toContain(`[127.0.0.1]:${rig.port} ssh-ed25519 AAAA`);
    expect(existsSync(p.remoteDir)).toBe(false);
  });

  it('reports an unreachable device clearly and exits 1', async () => {
    const p = await makeProject({ port: await freePort() });
    const r = await deploy(p);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/deploy: failed \(unreachable\): cannot reach root@127\.0\.0\.1:\d+: .*Connection refused/);
  });

  it('does not switch to a model the device cannot run, and says why', async () => {
    const p = await makeProject();
    await deployOk(p);
    const v1 = currentVersion(p);
    await writeTinyModel(p.onnxDir, 2);
    p.config = { ...p.config, target: { ...(p.config.target as object), runtime: { node: process.execPath, modules: join(p.root, 'no-such-node_modules') } } };
    const r = await deploy(p);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('smoke test');
    expect(r.stderr).toContain('cannot load onnxruntime-node from');
    expect(currentVersion(p)).toBe(v1);
    expect(versions(p)).toEqual([v1]);
    expect(readdirSync(join(p.remoteDir, 'candidates'))).toEqual([]);
  });

  it('only versions that went live are rollback targets or survive pruning; a deploy killed mid-smoke leaves nothing behind', async () => {
    // The device's "node": records its pid, and while `hold` exists stands still as a smoke test that hangs would.
    const p = await makeProject({ target: { keep_versions: 3 } });
    const wrapper = join(p.root, 'device-node.sh');
    writeFileSync(wrapper, `#!/bin/sh\necho $$ > '${p.root}/smoke.pid'\nif [ -e '${p.root}/hold' ]; then exec sleep 600; fi\nexec '${process.execPath}' "$@"\n`, { mode: 0o755 });
    const target = p.config.target as Record<string, unknown>;
    const runtime = { node: wrapper, modules: join(repo, 'node_modules') };
    p.config = { ...p.config, target: { ...target, runtime } };
    const staging = join(p.root, '.pipeline', 'deploy-staging');

    const v1 = currentVersion((await deployOk(p), p));
    await writeTinyModel(p.onnxDir, 2);
    const v2 = currentVersion((await deployOk(p), p));

    // Smoke test failed: the candidate is removed, never a version.
    await writeTinyModel(p.onnxDir, 3);
    p.config = { ...p.config, target: { ...target, runtime: { ...runtime, modules: join(p.root, 'no-such-node_modules') } } };
    expect((await deploy(p)).code).toBe(1);
    expect(readdirSync(join(p.remoteDir, 'candidates'))).toEqual([]);
    p.config = { ...p.config, target: { ...target, runtime } };

    // Killed (kill -9 of the stage and its ssh) while the smoke test runs on the device.
    await writeTinyModel(p.onnxDir, 4);
    writeFileSync(join(p.root, 'hold'), '');
    rmSync(join(p.root, 'smoke.pid'), { force: true });
    const child = spawn(process.execPath, ['--import', tsx, join(repo, 'stages/deploy.ts')], { cwd: p.root, env: stageEnv(p), detached: true, stdio: 'ignore' });
    const exited = new Promise((r) => child.on('exit', r));
    await waitFor(() => existsSync(join(p.root, 'smoke.pid')) && readFileSync(join(p.root, 'smoke.pid'), 'utf8').trim() !== '', 'the smoke test to start');
    const devicePid = Number(readFileSync(join(p.root, 'smoke.pid'), 'utf8'));
    expect(readdirSync(staging)).toHaveLength(1); // the host staging lives in the project's .pipeline/
    expect(readdirSync(join(p.remoteDir, 'candidates'))).toHaveLength(1);
    process.kill(-child.pid!, 'SIGKILL');
    await exited;
    rmSync(join(p.root, 'hold'));
    expect(currentVersion(p)).toBe(v2);
    expect(versions(p)).toEqual([v1, v2]);
    // The device process dies with its connection (not minutes later).
    await waitFor(() => !pidExists(devicePid), `device process ${devicePid} to end`);

    await writeTinyModel(p.onnxDir, 5);
    const next = await deployOk(p);
    expect(next.stdout).toMatch(/removed a candidate left by an interrupted deploy: .*candidates\//);
    expect(next.stdout).toContain('removed the staging folder of an interrupted deploy');
    expect(readdirSync(staging)).toEqual([]);
    expect(readdirSync(join(p.remoteDir, 'candidates'))).toEqual([]);
    const v5 = currentVersion(p);
    expect(versions(p)).toEqual([v1, v2, v5]);

    // A complete folder that never went live (as older releases left them) is not a rollback target...
    const neverLive = (after: string) => {
      const name = `${after}-never-live`;
      execFileSync('cp', ['-a', join(p.remoteDir, 'versions', v2), join(p.remoteDir, 'versions', name)]);
      return name;
    };
    const stray = neverLive(v2);
    expect((await rollbackCli(p, '--list')).stdout).toBe(`  ${v1}\n  ${v2}\n* ${v5}\n`);
    const back = await rollbackCli(p);
    expect(back.code, back.stderr).toBe(0);
    expect(currentVersion(p)).toBe(v2);
    expect((await rollbackCli(p, '--to', stray)).stderr).toContain(`${stray} never went live (history.log)`);

    // ...and goes first when pruning, ahead of versions that were live.
    const stray2 = neverLive(v5);
    await writeTinyModel(p.onnxDir, 6);
    await deployOk(p);
    const v6 = currentVersion(p);
    expect(versions(p)).toEqual([v2, v5, v6]);
    expect(metrics(p).detail.removed_versions).toEqual([stray, stray2, v1]);
  });
});

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  // A bound for a hung test only: the condition is expected long before it.
  for (let i = 0; i < 600 && !condition(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!condition()) throw new Error(`gave up waiting for ${what}`);
}

/** True when an upload folder holds at least one byte of a file (rsync writes as it goes). */
function hasPartialData(dir: string): boolean {
  const walk = (d: string): boolean =>
    readdirSync(d, { withFileTypes: true }).some((e) => (e.isDirectory() ? walk(join(d, e.name)) : statSync(join(d, e.name)).size > 0 && e.name.includes('lookup-table')));
  try {
    return walk(dir);
  } catch {
    return false; // the folder is being written; look again
  }
}
