/**
 * Deploy figures against a real sshd on 127.0.0.1 (the test rig playing the Pi): a B0
 * classifier at 224 px exported to ONNX with the project's exporter, deployed by the real
 * stage process, then redeployed unchanged (rsync hard-links what did not change), then
 * rolled back, then deployed `--repeat` more times to show how the device latency figures
 * (p50/p95/p99 over the smoke test's timed runs) spread from one deploy to the next. Prints
 * bundle size, wall time of each step, upload time, the device-side latency (which here is
 * this host, not a Pi) and the load average. The latency is measured, not gated, here.
 *
 * usage: node --import tsx bench/deploy.ts [--size 224] [--repeat 5]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { buildClassifier } from '../src/ml/model/classifier.ts';
import { exportToOnnx } from '../src/ml/onnx/tfjs-to-onnx.ts';
import { startSshd } from '../test/helpers/sshd-rig.ts';

const { values } = parseArgs({ options: { size: { type: 'string', default: '224' }, repeat: { type: 'string', default: '5' } } });
const size = Number(values.size);
const repeat = Number(values.repeat);
const repo = resolve(import.meta.dirname, '..');

await tf.setBackend('cpu');
const { model } = buildClassifier({ inputSize: size, widthCoefficient: 1, depthCoefficient: 1, dropConnectRate: 0.2, headUnits: 512, headDropout: 0.3, nParts: 200, nColors: 50, architecture: 'multitask' });
const exported = exportToOnnx(model);
const root = mkdtempSync(join(tmpdir(), 'brickflow-deploy-bench-'));
const onnxDir = join(root, 'artifacts', 'onnx');
mkdirSync(onnxDir, { recursive: true });
writeFileSync(join(onnxDir, 'model.onnx'), exported.bytes);
writeFileSync(join(onnxDir, 'model.json'), JSON.stringify({ input_size: size, outputs: exported.outputNames }));
console.log(`model: B0 multitask @${size}px, ${(exported.bytes.length / 1e6).toFixed(1)} MB ONNX`);

const rig = await startSshd();
const config = {
  target: {
    host: '127.0.0.1', user: 'root', port: rig.port, identity_file: rig.userKey, known_hosts: rig.knownHosts,
    remote_dir: join(root, 'pi'), runtime: { node: process.execPath, modules: join(repo, 'node_modules') },
  },
  // The shipped defaults (config/deploy.yaml) for warm-up and runs; no gate: this host is not a Pi.
  smoke_test: { samples: 8, latency_gate: null },
};
const env = {
  ...process.env, PIPELINE_STAGE: 'deploy', PIPELINE_ROOT: root, PIPELINE_PARAMS: JSON.stringify({ 'config/deploy.yaml': config }),
  PIPELINE_DEPS: '["artifacts/onnx"]', PIPELINE_METRICS: 'artifacts/metrics/deploy.json',
};

function timed(label: string, args: string[]): number {
  const start = performance.now();
  const r = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), ...args], { cwd: root, env, encoding: 'utf8' });
  const seconds = (performance.now() - start) / 1000;
  if (r.status !== 0) throw new Error(`${label} failed: ${r.stderr}`);
  console.log(`${label}: ${seconds.toFixed(2)} s wall (load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  return seconds;
}

type Metrics = Record<string, number>;
const readMetrics = () => JSON.parse(readFileSync(join(root, 'artifacts/metrics/deploy.json'), 'utf8')) as Metrics & { detail: { latency_runs: number; latency_warmup_runs: number } };
const deployStage = join(repo, 'stages/deploy.ts');

try {
  for (const label of ['first deploy', 'redeploy (same model)']) {
    timed(label, [deployStage]);
    const m = readMetrics();
    console.log(`  bundle ${(m['bundle_bytes']! / 1e6).toFixed(1)} MB, upload ${m['upload_seconds']!.toFixed(2)} s, device latency over ${m.detail.latency_runs} runs (${m.detail.latency_warmup_runs} warm-up) p50 ${m['device_latency_ms_p50']!.toFixed(1)} ms, p95 ${m['device_latency_ms_p95']!.toFixed(1)} ms, p99 ${m['device_latency_ms_p99']!.toFixed(1)} ms, smoke max |diff| ${m['smoke_max_abs_diff']!.toExponential(1)}`);
  }
  writeFileSync(join(root, 'pipeline.yaml'), 'stages: {}\n');
  writeFileSync(join(root, 'deploy.yaml'), JSON.stringify(config));
  timed('rollback', ['-e', `import(${JSON.stringify(join(repo, 'src/cli/commands/rollback.ts'))}).then((m) => m.run(['--config', 'deploy.yaml'])).then((c) => { process.exitCode = c; })`]);

  const seen: Metrics[] = [];
  for (let i = 1; i <= repeat; i++) {
    timed(`deploy ${i}/${repeat}`, [deployStage]);
    seen.push(readMetrics());
  }
  if (seen.length > 0) {
    const spread = (key: string) => {
      const v = seen.map((m) => m[key]!);
      return `${Math.min(...v).toFixed(1)}-${Math.max(...v).toFixed(1)} ms (${v.map((x) => x.toFixed(1)).join(', ')})`;
    };
    console.log(`device latency over ${seen.length} deploys: p50 ${spread('device_latency_ms_p50')}; p95 ${spread('device_latency_ms_p95')}; p99 ${spread('device_latency_ms_p99')}`);
  }
} finally {
  await rig.stop();
  rmSync(root, { recursive: true, force: true });
}
