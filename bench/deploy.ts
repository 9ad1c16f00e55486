/**
 * Deploy figures against a real sshd on 127.0.0.1 (the test rig playing the Pi): a B0
 * classifier at 224 px exported to ONNX with the project's exporter, deployed by the real
 * stage process, then redeployed unchanged (rsync hard-links what did not change), then
 * rolled back. Prints bundle size, wall time of each step, upload time and the device-side
 * latency (which here is this host, not a Pi).
 *
 * usage: node --import tsx bench/deploy.ts [--size 224]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { buildClassifier } from '../src/ml/model/classifier.ts';
import { exportToOnnx } from '../src/ml/onnx/tfjs-to-onnx.ts';
import { startSshd } from '../test/deploy/sshd-rig.ts';

const { values } = parseArgs({ options: { size: { type: 'string', default: '224' } } });
const size = Number(values.size);
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
  smoke_test: { samples: 8, warmup_runs: 5, latency_runs: 50 },
};
const env = {
  ...process.env, PIPELINE_STAGE: 'deploy', PIPELINE_ROOT: root, PIPELINE_PARAMS: JSON.stringify({ 'config/deploy.yaml': config }),
  PIPELINE_DEPS: '["artifacts/onnx"]', PIPELINE_METRICS: 'artifacts/metrics/deploy.json',
};

function timed(label: string, args: string[]): void {
  const start = performance.now();
  const r = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), ...args], { cwd: root, env, encoding: 'utf8' });
  const seconds = (performance.now() - start) / 1000;
  if (r.status !== 0) throw new Error(`${label} failed: ${r.stderr}`);
  console.log(`${label}: ${seconds.toFixed(2)} s wall`);
}

try {
  for (const label of ['first deploy', 'redeploy (same model)']) {
    timed(label, [join(repo, 'stages/deploy.ts')]);
    const m = JSON.parse(readFileSync(join(root, 'artifacts/metrics/deploy.json'), 'utf8')) as Record<string, number>;
    console.log(`  bundle ${(m['bundle_bytes']! / 1e6).toFixed(1)} MB, upload ${m['upload_seconds']!.toFixed(2)} s, device latency p50 ${m['device_latency_ms_p50']!.toFixed(1)} ms, p95 ${m['device_latency_ms_p95']!.toFixed(1)} ms, smoke max |diff| ${m['smoke_max_abs_diff']!.toExponential(1)}`);
  }
  writeFileSync(join(root, 'pipeline.yaml'), 'stages: {}\n');
  writeFileSync(join(root, 'deploy.yaml'), JSON.stringify(config));
  timed('rollback', ['-e', `import(${JSON.stringify(join(repo, 'src/cli/commands/rollback.ts'))}).then((m) => m.run(['--config', 'deploy.yaml'])).then((c) => { process.exitCode = c; })`]);
} finally {
  await rig.stop();
  rmSync(root, { recursive: true, force: true });
}
