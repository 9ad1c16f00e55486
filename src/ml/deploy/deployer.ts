// Ships an exported model to the device: the upload lands as a candidate, which must pass
// its checksums, the on-device smoke test and the latency gate before it becomes a version
// and `current` is switched to it (atomically); then the optional service restart, with an
// automatic roll back when its health check fails, and pruning of old versions.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildBundle } from './bundle.ts';
import type { DeployTarget, LatencyGate, SmokeTestSettings } from './deploy-config.ts';
import { HEALTH, LIST, PREPARE, PROMOTE, REJECT, REMOVE, RESTART, SMOKE, SWITCH, VERIFY, parseList, versionsToPrune } from './remote-layout.ts';
import { withLockedDevice } from './device-lock.ts';
import { makeOwnedDir } from './owned-dir.ts';
import { fail, ok, type Result } from './result.ts';
import { buildSmokeSamples, compareOutputs, type SmokeComparison, type SmokeSamples } from './smoke-samples.ts';
import { hostLabel } from '../../ssh/ssh-options.ts';
import { rsyncUpload, runRemoteChecked, runRemoteScript } from './ssh-client.ts';

export interface DeviceLatency {
  runs: number;
  warmup: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
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
  latencyGate: LatencyGate | undefined;
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

/**
 * Deploys the model in `onnxDir`. The bundle is assembled in a scratch folder under
 * `stagingParent` (the project's .pipeline/), removed when done; one left by a killed
 * deploy is removed by the next.
 */
export async function deployModel(target: DeployTarget, smoke: SmokeTestSettings, onnxDir: string, stagingParent: string, log: DeployLog): Promise<Result<DeployReport>> {
  if (!existsSync(join(onnxDir, 'model.onnx'))) return fail({ reason: 'bad-model', message: `${onnxDir}/model.onnx does not exist: run the export stage first` });
  const staging = makeOwnedDir(stagingParent, 'deploy-');
  for (const name of staging.removedStale) log.info(`removed the staging folder of an interrupted deploy: ${join(stagingParent, name)}`);
  try {
    return await withLockedDevice(target, (line) => log.info(line), (t) => deployOver(t, smoke, onnxDir, staging.dir, log));
  } finally {
    rmSync(staging.dir, { recursive: true, force: true });
  }
}

async function deployOver(target: DeployTarget, smoke: SmokeTestSettings, onnxDir: string, staging: string, log: DeployLog): Promise<Result<DeployReport>> {
  const where = hostLabel(target);
  const root = target.remoteDir;

  const samples = await buildSmokeSamples(onnxDir, smoke.samples);
  const bundle = buildBundle(onnxDir, samples, join(staging, 'bundle'));
  log.info(`version ${bundle.version}: ${bundle.files.length} files, ${(bundle.totalBytes / 1e6).toFixed(2)} MB, ${samples.names.length} ${samples.origin} samples`);

  const prepared = await runRemoteChecked(target, 'preparing the deploy folder', PREPARE, [root]);
  if (!prepared.ok) return prepared;
  for (const m of prepared.value.matchAll(/^removed-stale=(.*)$/gm)) log.info(`removed a candidate left by an interrupted deploy: ${root}/${m[1]}`);
  const previous = /^current=(.*)$/m.exec(prepared.value)?.[1] || undefined;

  const candidate = `${root}/candidates/${bundle.version}`;
  log.info(`uploading the candidate to ${where}:${candidate}`);
  const started = performance.now();
  const uploaded = await rsyncUpload(target, bundle.dir, {
    remoteDest: candidate,
    linkDest: previous ? `../../versions/${previous}` : undefined,
    onProgress: (p) => log.progress(p),
  });
  if (!uploaded.ok) return uploaded;
  const uploadSeconds = (performance.now() - started) / 1000;

  const rejectCandidate = async (failure: Result<never>): Promise<Result<never>> => {
    await runRemoteScript(target, REJECT, [root, bundle.version]);
    return failure;
  };
  const verified = await runRemoteScript(target, VERIFY, [root, bundle.version]);
  if (!verified.ok) return verified;
  if (verified.value.code === 3) return rejectCandidate(fail({ reason: 'checksum-mismatch', message: `${where}: ${verified.value.stderr.trim()}` }));
  if (verified.value.code !== 0) return fail({ reason: 'remote-failed', message: `${where}: verifying the upload failed: ${verified.value.stderr.trim()}` });
  log.info(`checksums verified on the device; smoke test there (${smoke.warmupRuns} warm-up + ${smoke.latencyRuns} timed runs)`);

  const smokeRun = await runSmoke(target, bundle.version, smoke);
  const judged = smokeRun.ok ? judgeSmoke(samples, smokeRun.value, smoke) : smokeRun;
  if (!judged.ok) {
    return rejectCandidate(fail({ reason: 'smoke-test-failed', message: `smoke test of ${bundle.version} on ${where} failed, current left at ${previous ?? '(none)'}: ${judged.failure.message}` }));
  }
  const { comparison, latency, device } = judged.value;
  log.info(`smoke test passed: max |diff| ${comparison.maxAbsDiff.toExponential(2)}; ${describeLatency(latency)}`);
  const gate = smoke.latencyGate;
  if (gate && !(latency[`${gate.percentile}_ms`] <= gate.maxMs)) {
    return rejectCandidate(fail({
      reason: 'latency-gate-failed',
      message: `latency gate: ${gate.percentile} ${latency[`${gate.percentile}_ms`].toFixed(2)} ms > ${gate.maxMs} ms on ${where} (${describeLatency(latency)}); ${bundle.version} rejected, current left at ${previous ?? '(none)'}`,
    }));
  }
  if (gate) log.info(`latency gate passed: ${gate.percentile} ${latency[`${gate.percentile}_ms`].toFixed(2)} ms <= ${gate.maxMs} ms`);

  const switched = await runRemoteChecked(target, `switching current to ${bundle.version}`, PROMOTE, [root, bundle.version]);
  if (!switched.ok) return rejectCandidate(switched);
  log.info(`current -> versions/${bundle.version}${previous ? ` (was ${previous})` : ''}`);

  const service = await restartService(target, log);
  if (!service.ok) {
    if (!previous) return service;
    const back = await runRemoteChecked(target, `rolling back to ${previous}`, SWITCH, [root, previous]);
    if (!back.ok) return fail({ reason: 'health-check-failed', message: `${service.failure.message}; roll back failed too: ${back.failure.message}` });
    // It went live for a moment: history.log says so, and that it was rejected, so it is never a rollback target.
    await runRemoteScript(target, REJECT, [root, bundle.version, 'logged']);
    const undone = await restartService(target, log);
    const state = `rolled back to ${previous}${undone.ok ? '' : ` (whose restart also failed: ${undone.failure.message})`}; ${bundle.version} rejected`;
    return fail({ reason: 'health-check-failed', message: `${service.failure.message}; ${state}` });
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
    latencyGate: gate,
    device,
    removedVersions,
  });
}

function describeLatency(l: DeviceLatency): string {
  return `latency over ${l.runs} runs p50 ${l.p50_ms.toFixed(2)} ms, p95 ${l.p95_ms.toFixed(2)} ms, p99 ${l.p99_ms.toFixed(2)} ms`;
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
    target.remoteDir, version, target.runtime.node, target.runtime.modules, String(smoke.warmupRuns), String(smoke.latencyRuns), String(smoke.threads),
  ], { tty: true });
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
