// The deploy stage: ships artifacts/onnx to the device configured in config/deploy.yaml and
// writes the on-device smoke test and latency figures to the metrics file. Exit 3 when the
// candidate missed the latency gate (the device keeps its current model), 1 on any other failure.
import { replaceFileSync } from '../src/engine/atomic-write.ts';
import { readStageContext } from '../src/engine/stage-context.ts';
import { parseDeploySettings } from '../src/ml/deploy/deploy-config.ts';
import { deployModel } from '../src/ml/deploy/deployer.ts';
import { consoleDeployLog } from '../src/ml/deploy/progress-log.ts';

const CONFIG = 'config/deploy.yaml';

async function main(): Promise<number> {
  const ctx = readStageContext('deploy');
  if (!ctx.metrics) {
    console.error('deploy: pipeline.yaml gives the stage no metrics: file for the device figures');
    return 2;
  }
  const metricsFile = ctx.abs(ctx.metrics);
  const settings = parseDeploySettings(ctx.params[CONFIG], CONFIG, ctx.root);
  if (!settings.ok) {
    console.error(`deploy: ${settings.failure.message}`);
    return 1;
  }
  const { target, smokeTest } = settings.value;
  if (!target) {
    const reason = `no deploy target configured in ${CONFIG}`;
    console.log(`deploy: skipped: ${reason} (set target.host, user, identity_file, known_hosts, remote_dir to ship to a Pi)`);
    writeMetrics(metricsFile, { status: 'skipped', reason });
    return 0;
  }
  const onnxDir = ctx.dep('onnx');
  const result = await deployModel(target, smokeTest, onnxDir, ctx.abs('.pipeline/deploy-staging'), consoleDeployLog());
  if (!result.ok) {
    console.error(`deploy: failed (${result.failure.reason}): ${result.failure.message}`);
    return result.failure.reason === 'latency-gate-failed' ? 3 : 1;
  }
  const r = result.value;
  writeMetrics(metricsFile, {
    status: 'deployed',
    device_latency_ms_p50: r.latency.p50_ms,
    device_latency_ms_p95: r.latency.p95_ms,
    device_latency_ms_p99: r.latency.p99_ms,
    device_latency_ms_mean: r.latency.mean_ms,
    smoke_max_abs_diff: r.comparison.maxAbsDiff,
    smoke_top1_agreement: r.comparison.top1Agreement,
    upload_seconds: r.uploadSeconds,
    bundle_bytes: r.bundleBytes,
    detail: {
      version: r.version,
      previous: r.previous ?? null,
      target: r.target,
      model_sha256: r.modelSha256,
      samples: r.samples,
      sample_origin: r.sampleOrigin,
      latency_runs: r.latency.runs,
      latency_warmup_runs: r.latency.warmup,
      latency_gate: r.latencyGate ? `${r.latencyGate.percentile} <= ${r.latencyGate.maxMs} ms` : null,
      device: r.device,
      removed_versions: r.removedVersions,
    },
  });
  console.log(`deploy: ${r.version} is live on ${r.target}`);
  return 0;
}

function writeMetrics(file: string, value: object): void {
  replaceFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

process.exitCode = await main();
