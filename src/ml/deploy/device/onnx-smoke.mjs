// brickflow's on-device check, shipped inside every deployed version and run there with
// plain Node (no build step): predicts the bundled sample inputs with onnxruntime-node and
// times single-image inference (p50/p95/p99). Prints one JSON object on stdout as its last
// line; the host compares it.
//
// usage: node device/onnx-smoke.mjs --modules <node_modules holding onnxruntime-node> [--warmup N] [--runs N] [--threads N]
// Run from the version folder (it reads model.onnx and samples/).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { join } from 'node:path';

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted, p) {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1];
}

/**
 * uint8 RGB HWC -> float32 `(pixel / 255 - mean) / std`, computed as pixel * scale + shift
 * like the host's src/ml/preprocess.ts so both sides feed bit-identical inputs, then laid
 * out as sampleShape says ([1, 3, H, W] = channels first).
 */
function toModelInput(pixels, meta) {
  const scale = meta.std.map((s) => 1 / (255 * s));
  const shift = meta.mean.map((m, c) => -m / meta.std[c]);
  const channelsFirst = meta.sampleShape[1] === 3;
  const plane = pixels.length / meta.count / 3;
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < meta.count; i++) {
    const base = i * plane * 3;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) {
        const v = pixels[base + p * 3 + c] * scale[c] + shift[c];
        out[channelsFirst ? base + c * plane + p : base + p * 3 + c] = v;
      }
    }
  }
  return out;
}

async function main() {
  const modules = option('modules', join(process.cwd(), 'node_modules'));
  const warmup = Number(option('warmup', '5'));
  const runs = Number(option('runs', '50'));
  // ESM ignores NODE_PATH: resolve onnxruntime-node from the configured folder instead.
  const require = createRequire(join(modules, 'brickflow-resolve.js'));
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (err) {
    throw new Error(`cannot load onnxruntime-node from ${modules}: ${err.message}`);
  }
  const meta = JSON.parse(readFileSync('samples/samples.json', 'utf8'));
  const pixels = new Uint8Array(readFileSync('samples/pixels.bin'));
  const all = toModelInput(pixels, meta);
  const perSample = meta.sampleShape.reduce((a, b) => a * b, 1);
  const threads = Number(option('threads', '0'));
  const session = await ort.InferenceSession.create('model.onnx', threads > 0 ? { intraOpNumThreads: threads } : {});
  const feed = (i) => ({ [meta.inputName]: new ort.Tensor('float32', all.slice(i * perSample, (i + 1) * perSample), meta.sampleShape) });

  const outputs = {};
  for (const name of session.outputNames) outputs[name] = [];
  for (let i = 0; i < meta.count; i++) {
    const result = await session.run(feed(i));
    for (const name of session.outputNames) outputs[name].push(Array.from(result[name].data));
  }

  const input = feed(0);
  for (let i = 0; i < warmup; i++) await session.run(input);
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await session.run(input);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  process.stdout.write(JSON.stringify({
    outputs,
    latency: {
      runs, warmup, threads,
      p50_ms: percentile(times, 50), p95_ms: percentile(times, 95), p99_ms: percentile(times, 99),
      mean_ms: mean, min_ms: times[0], max_ms: times.at(-1),
    },
    device: { node: process.version, platform: platform(), arch: arch() },
  }) + '\n');
}

main().catch((err) => {
  process.stderr.write(`onnx-smoke: ${err.message}\n`);
  process.exit(1);
});
