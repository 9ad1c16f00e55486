// Ships an exported model to the device: versioned upload, checksum check, on-device smoke
// test and latency benchmark, atomic switch of `current`, optional service restart with
// automatic roll back when its health check fails, pruning of old versions.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBundle } from './bundle.ts';
import type { DeployTarget, SmokeTestSettings } from './deploy-config.ts';
import { HEALTH, LIST, PREPARE, PROMOTE, REMOVE, RESTART, SMOKE, SWITCH, parseList, versionsToPrune } from './remote-layout.ts';
import { withLockedDevice } from './device-lock.ts';
import { fail, ok, type Result } from './result.ts';
import { buildSmokeSamples, compareOutputs, type SmokeComparison, type SmokeSamples } from './smoke-samples.ts';
import { hostLabel, rsyncUpload, runRemoteChecked, runRemoteScript } from './ssh-client.ts';

export interface DeviceLatency {
  runs: number;
  p50_ms: number;
  p95_ms: number;
  mean_ms: number;
}

export interface DeployReport {
  version: string;
  previous: string | undefined;
  target: string;
  modelSha256: string;
  bundleBytes: number;
  uploadSeconds: number;
  samples: number;
  sampleOrigin: 'images' | 'synthetic';
  comparison: SmokeComparison;
  latency: DeviceLatency;
  device: Record<string, string>;
  removedVersions: string[];
}

export interface DeployLog {
  info(line: string): void;
  /** Upload progress, 0-100. */
  progress(percent: number): void;
}

interface SmokeOutput {
  outputs: Record<string, number[][]>;
  latency: DeviceLatency;
  device: Record<string, string>;
}

export async function deployModel(target: DeployTarget, smoke: SmokeTestSettings, onnxDir: string, log: DeployLog): Promise<Result<DeployReport>> {
  if (!existsSync(join(onnxDir, 'model.onnx'))) return fail({ reason: 'bad-model', message: `${onnxDir}/model.onnx does not exist: run the export stage first` });
  return withLockedDevice(target, (line) => log.info(line), (t) => deployOver(t, smoke, onnxDir, log));
}

async function deployOver(target: DeployTarget, smoke: SmokeTestSettings, onnxDir: string, log: DeployLog): Promise<Result<DeployReport>> {
  const where = hostLabel(target);
  const root = target.remoteDir;

  const samples = await buildSmokeSamples(onnxDir, smoke.samples);
  const staging = mkdtempSync(join(tmpdir(), 'brickflow-deploy-'));
  try {
    const bundle = buildBundle(onnxDir, samples, join(staging, 'bundle'));
    log.info(`version ${bundle.version}: ${bundle.files.length} files, ${(bundle.totalBytes / 1e6).toFixed(2)} MB, ${samples.names.length} ${samples.origin} samples`);

    const prepared = await runRemoteChecked(target, 'preparing the deploy folder', PREPARE, [root]);
    if (!prepared.ok) return prepared;
    for (const m of prepared.value.matchAll(/^removed-stale=(.*)$/gm)) log.info(`removed an interrupted upload: ${root}/versions/${m[1]}`);
    const previous = /^current=(.*)$/m.exec(prepared.value)?.[1] || undefined;

    log.info(`uploading to ${where}:${root}/versions/.incoming-${bundle.version}`);
    const started = performance.now();
    const uploaded = await rsyncUpload(target, bundle.dir, {
      remoteDest: `${root}/versions/.incoming-${bundle.version}`,
      linkDest: previous ? `../${previous}` : undefined,
      onProgress: (p) => log.progress(p),
    });
    if (!uploaded.ok) return uploaded;
    const uploadSeconds = (performance.now() - started) / 1000;

    const promoted = await runRemoteScript(target, PROMOTE, [root, bundle.version]);
    if (!promoted.ok) return promoted;
    if (promoted.value.code === 3) return fail({ reason: 'checksum-mismatch', message: `${where}: ${promoted.value.stderr.trim()}` });
    if (promoted.value.code !== 0) return fail({ reason: 'remote-failed', message: `${where}: verifying the upload failed: ${promoted.value.stderr.trim()}` });
    log.info(`checksums verified on the device; running the smoke test there (${smoke.latencyRuns} timed runs)`);

    const smokeRun = await runSmoke(target, bundle.version, smoke);
    const judged = smokeRun.ok ? judgeSmoke(samples, smokeRun.value, smoke) : smokeRun;
    if (!judged.ok) {
      // The failed version never went live; delete it so it cannot be rolled forward to.
      await runRemoteScript(target, REMOVE, [root, bundle.version]);
      return fail({ reason: 'smoke-test-failed', message: `smoke test of ${bundle.version} on ${where} failed, current left at ${previous ?? '(none)'}: ${judged.failure.message}` });
    }
    const { comparison, latency, device } = judged.value;
    log.info(`smoke test passed: max |diff| ${comparison.maxAbsDiff.toExponential(2)}, latency p50 ${latency.p50_ms.toFixed(2)} ms, p95 ${latency.p95_ms.toFixed(2)} ms`);

    const switched = await runRemoteChecked(target, `switching current to ${bundle.version}`, SWITCH, [root, bundle.version, 'deploy']);
    if (!switched.ok) return switched;
    log.info(`current -> versions/${bundle.version}${previous ? ` (was ${previous})` : ''}`);

    const service = await restartService(target, log);
    if (!service.ok) {
      if (previous) {
        const back = await runRemoteChecked(target, `rolling back to ${previous}`, SWITCH, [root, previous, 'rollback']);
        const undone = back.ok ? await restartService(target, log) : back;
        const state = back.ok ? `rolled back to ${previous}${undone.ok ? '' : ` (whose restart also failed: ${undone.ok ? '' : undone.failure.message})`}` : `roll back failed too: ${back.failure.message}`;
        return fail({ reason: 'health-check-failed', message: `${service.failure.message}; ${state}` });
      }
      return service;
    }

    const listed = await runRemoteChecked(target, 'listing versions', LIST, [root]);
    if (!listed.ok) return listed;
    const removedVersions = versionsToPrune(parseList(listed.value), target.keepVersions, previous ? [previous] : []);
    if (removedVersions.length > 0) {
      const removed = await runRemoteChecked(target, 'removing old versions', REMOVE, [root, ...removedVersions]);
      if (!removed.ok) return removed;
      log.info(`removed old versions: ${removedVersions.join(', ')}`);
    }
    return ok({
      version: bundle.version,
      previous,
      target: `${where}:${root}`,
      modelSha256: bundle.modelSha256,
      bundleBytes: bundle.totalBytes,
      uploadSeconds,
      samples: samples.names.length,
      sampleOrigin: samples.origin,
      comparison,
      latency,
      device,
      removedVersions,
    });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** The device passes when every argmax agrees with the host's and no logit differs by more than the limit. */
function judgeSmoke(samples: SmokeSamples, run: SmokeOutput, smoke: SmokeTestSettings): Result<SmokeOutput & { comparison: SmokeComparison }> {
  const comparison = compareOutputs(samples, run.outputs);
  if (comparison.maxAbsDiff <= smoke.maxAbsDiff && comparison.top1Agreement === 1) return ok({ ...run, comparison });
  const listed = comparison.disagreements.length > 0 ? `\n  ${comparison.disagreements.slice(0, 5).join('\n  ')}` : '';
  return fail({
    reason: 'smoke-test-failed',
    message: `device predictions differ from the host's: max |diff| ${comparison.maxAbsDiff.toExponential(2)} (limit ${smoke.maxAbsDiff}), top-1 agreement ${(comparison.top1Agreement * 100).toFixed(1)}%${listed}`,
  });
}

async function runSmoke(target: DeployTarget, version: string, smoke: SmokeTestSettings): Promise<Result<SmokeOutput>> {
  const res = await runRemoteChecked(target, 'the on-device smoke test', SMOKE, [
    target.remoteDir, version, target.runtime.node, target.runtime.modules, String(smoke.warmupRuns), String(smoke.latencyRuns),
  ]);
  if (!res.ok) return res;
  try {
    return ok(JSON.parse(res.value.trim().split('\n').at(-1) ?? '') as SmokeOutput);
  } catch {
    return fail({ reason: 'smoke-test-failed', message: `the smoke test printed no result: ${res.value.slice(0, 300)}` });
  }
}

/** Runs the configured restart command and health check on the device; nothing configured = ok. */
export async function restartService(target: DeployTarget, log: DeployLog): Promise<Result<void>> {
  const { restart, healthUrl, healthTimeoutS } = target.service;
  if (restart) {
    const res = await runRemoteChecked(target, `the service restart (${restart})`, RESTART, [target.remoteDir, restart]);
    if (!res.ok) return fail({ reason: 'health-check-failed', message: res.failure.message });
    log.info(`service restarted: ${restart}`);
  }
  if (healthUrl) {
    const res = await runRemoteScript(target, HEALTH, [target.runtime.node, healthUrl, String(healthTimeoutS)]);
    if (!res.ok) return res;
    if (res.value.code !== 0) return fail({ reason: 'health-check-failed', message: `${hostLabel(target)}: ${res.value.stderr.trim() || `health check of ${healthUrl} failed`}` });
    log.info(`service healthy: ${healthUrl}`);
  }
  return ok(undefined);
}
