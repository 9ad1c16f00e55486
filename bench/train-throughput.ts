/**
 * Training throughput (images/s of one step: forward + backward + optimizer update) of the
 * classifier at several input sizes on every backend available here, beside PyTorch on the
 * same machine at the same thread count, printed as a table with ratios.
 *
 *   node --import tsx bench/train-throughput.ts [--sizes 64,96,224] [--batch 16] [--steps 3]
 *        [--backends auto|wasm,cpu,tensorflow] [--model auto|real|demo|standin] [--no-torch] [--rounds 2]
 *        [--optimizer adamw|adamw-fused|adam]   (adamw, as training runs it, is torch_bench.py's peer)
 *        [--workers 1,2]   data-parallel replicas (training.workers) beside torch at as many threads
 *        [--warmup 5]      seconds of untimed steps first (at least two): the steady rate, not the start
 *
 * With the default optimizer (adamw) tfjs times training's own step (src/ml/train/replica-step.ts:
 * uint8 pixels normalised per batch, the plan's loss, AdamW) on 1..N replicas, each on its
 * share of the batch (src/ml/train/replica-pool.ts); torch runs at the same number of
 * threads on the same batch. The other optimizers time bench/train-throughput-step.ts'
 * step on one thread, as before.
 *
 * On a shared machine other work slows each run by a different amount, so tfjs and torch
 * are measured alternately `rounds` times and each reports its best round (the run least
 * disturbed); the ratio compares those bests. A second table pairs N workers with 1 worker
 * round by round (they run back to back) and gives the median of those ratios, for img/s and
 * for CPU time per image (which load inflates less than wall time); a third pairs tfjs with
 * torch round by round the same way.
 *
 * Each (backend, size) runs in its own child process so one backend's memory does not
 * weigh on the next. 'auto' measures tfjs-node (when installed) and wasm; the pure-JS cpu
 * backend (~0.1 images/s, minutes per step) only when named in --backends, and then at
 * the smallest size unless --cpu-all is given.
 */
import { execFile } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { runTorchBench, type TorchResult } from './train-throughput-torch.ts';

const run = promisify(execFile);
const self = fileURLToPath(import.meta.url);

interface WorkerResult {
  backend: string;
  threads: number;
  size: number;
  batch: number;
  model: string;
  trainImgS: number;
  stepMs: number[];
  /** CPU time (all threads) per image over the timed steps: what load on a shared machine does not inflate. */
  cpuMsPerImage: number;
}

/** In the child: pick the backend, build the model, time `steps` steps after the warm-up. */
async function worker(backend: string, size: number, batch: number, steps: number, model: string, optimizer: string, workers: number, warmupSeconds: number): Promise<void> {
  const { selectBackend } = await import('../src/ml/backend/select-backend.ts');
  const { loadBenchModel, makeReplicaStep, makeTrainStep } = await import('./train-throughput-step.ts');
  const choice = await selectBackend(backend as 'wasm' | 'cpu' | 'tensorflow', { log: null, env: {} });
  const bm = await loadBenchModel(size, model as 'auto' | 'real' | 'demo' | 'standin');
  const replicated = optimizer === 'adamw' ? await makeReplicaStep(bm.model, batch, size, workers) : undefined;
  const step = replicated?.step ?? makeTrainStep(bm.model, batch, size, optimizer as 'adamw-fused' | 'adam').step;
  // Warm-up, at least two steps and `warmupSeconds`: each replica's first steps grow its wasm
  // heap and set up XNNPACK's operators, and V8 optimises the step's JS over the first seconds
  // (20 steps timed straight after two warm-up steps ran at ~70% of the steady rate on one
  // worker and ~45% on two, on the demo's model).
  const warmStart = performance.now();
  for (let i = 0; i < 2 || performance.now() - warmStart < warmupSeconds * 1000; i++) await step();
  const stepMs: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    await step();
    stepMs.push(performance.now() - t);
  }
  const cpu = process.cpuUsage(cpu0);
  await replicated?.dispose();
  const total = stepMs.reduce((a, b) => a + b, 0);
  const r: WorkerResult = { backend: choice.backend, threads: choice.threads * workers, size, batch, model: bm.note, trainImgS: (batch * steps * 1000) / total, stepMs, cpuMsPerImage: (cpu.user + cpu.system) / 1000 / (batch * steps) };
  console.log(`RESULT ${JSON.stringify(r)}`);
}

async function measure(backend: string, size: number, batch: number, steps: number, model: string, optimizer: string, workers: number, warmupSeconds: number): Promise<WorkerResult | { error: string }> {
  try {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', self, '--worker', '--backends', backend, '--sizes', String(size), '--batch', String(batch), '--steps', String(steps), '--model', model, '--optimizer', optimizer, '--workers', String(workers), '--warmup', String(warmupSeconds)],
      { maxBuffer: 16 << 20, timeout: 60 * 60_000 },
    );
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) return { error: 'no result line' };
    return JSON.parse(line.slice(7)) as WorkerResult;
  } catch (e) {
    const err = e as { stderr?: string; message?: string };
    // The last short line naming an error (the wasm glue prints whole minified source lines too).
    const lines = (err.stderr ?? err.message ?? String(e)).trim().split('\n').filter((l) => l.length < 400);
    const error = lines.find((l) => /^\w*Error\b/.test(l)) ?? lines.filter((l) => /abort|memory/i.test(l)).pop();
    return { error: error?.trim() ?? 'failed' };
  }
}

async function availableBackends(): Promise<string[]> {
  const out = ['wasm'];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(/* @vite-ignore */ pkg);
      return ['tensorflow', ...out];
    } catch {
      // not installed here (it needs libtensorflow, downloaded at install time)
    }
  }
  return out;
}

const fmt = (v: number): string => (v >= 10 ? v.toFixed(1) : v.toFixed(2));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '64,96,224' },
      batch: { type: 'string', default: '16' },
      steps: { type: 'string', default: '3' },
      backends: { type: 'string', default: 'auto' },
      model: { type: 'string', default: 'auto' },
      'no-torch': { type: 'boolean', default: false },
      'cpu-all': { type: 'boolean', default: false },
      rounds: { type: 'string', default: '2' },
      worker: { type: 'boolean', default: false },
      optimizer: { type: 'string', default: 'adamw' },
      workers: { type: 'string', default: '1,2' },
      warmup: { type: 'string', default: '5' },
    },
  });
  const sizes = values.sizes.split(',').map(Number);
  const batch = Number(values.batch);
  const steps = Number(values.steps);
  const warmup = Number(values.warmup);
  if (!['adamw', 'adamw-fused', 'adam'].includes(values.optimizer)) throw new Error(`--optimizer ${values.optimizer}: expected adamw, adamw-fused or adam`);
  const workerCounts = values.workers.split(',').map(Number);
  if (workerCounts.some((w) => !(w >= 1)) || (values.optimizer !== 'adamw' && workerCounts.some((w) => w > 1))) {
    throw new Error(`--workers ${values.workers}: counts >= 1, and more than one only with --optimizer adamw (training's step)`);
  }
  if (values.worker) return worker(values.backends, sizes[0]!, batch, steps, values.model, values.optimizer, workerCounts[0]!, warmup);

  const backends = values.backends === 'auto' ? await availableBackends() : values.backends.split(',');
  const rows: string[] = [];
  const smallest = Math.min(...sizes);
  console.log(`training step, batch ${batch}, ${steps} timed steps after a warm-up of at least 2 steps and ${warmup} s; backends: ${backends.join(', ')}; tfjs optimizer: ${values.optimizer} (torch: AdamW)`);
  if (!backends.includes('cpu')) rows.push('| all | tfjs cpu | 1 | not measured (--backends wasm,cpu; ~0.1 img/s at 96 per issue 10) | | |');
  const rounds = Number(values.rounds);
  const modelNotes: string[] = [];
  const batchFor = new Map<number, number>(); // sizes whose batch had to shrink to fit the wasm heap
  const paired: string[] = [];
  const pairedTorch: string[] = [];
  for (const size of sizes) {
    const best = new Map<string, WorkerResult | { error: string; backend: string } | { skipped: string; backend: string }>();
    const torch = new Map<number, TorchResult>();
    const torchRounds = new Map<number, (number | undefined)[]>(); // per thread count: each round's img/s
    const rounds1 = new Map<string, (WorkerResult | undefined)[]>(); // per (backend × workers): each round's result
    for (let round = 1; round <= rounds; round++) {
      for (const [b, workers, key] of backends.flatMap((b) => (b === 'tensorflow' ? [1] : workerCounts).map((w) => [b, w, `${b}×${w}`] as const))) {
        if (b === 'cpu' && (round > 1 || (size !== smallest && !values['cpu-all']))) {
          if (!best.has(key)) best.set(key, { backend: b, skipped: 'minutes per step; --cpu-all to measure' });
          continue;
        }
        // A wasm heap is at most 4 GB: when a batch does not fit, halve it (and compare torch at that batch too).
        let r: WorkerResult | { error: string } = { error: 'not run' };
        for (let b2 = batchFor.get(size) ?? batch; b2 >= 2; b2 /= 2) {
          process.stdout.write(`  round ${round}: tfjs ${b} at ${size}, batch ${b2}, ${workers} worker(s)...`);
          r = await measure(b, size, b2, b === 'cpu' ? 1 : steps, values.model, values.optimizer, workers, warmup);
          process.stdout.write(` ${'error' in r ? r.error : `${fmt(r.trainImgS)} img/s, ${fmt(r.cpuMsPerImage)} CPU-ms/img`}\n`);
          if (!('error' in r) || !/abort|memory/i.test(r.error)) break;
          batchFor.set(size, b2 / 2);
        }
        if ('model' in r) modelNotes.push(r.model);
        rounds1.set(key, [...(rounds1.get(key) ?? []), 'trainImgS' in r ? r : undefined]);
        const prev = best.get(key);
        if (!prev || !('trainImgS' in prev) || ('trainImgS' in r && r.trainImgS > prev.trainImgS)) best.set(key, 'error' in r ? { ...r, backend: b } : r);
      }
      if (values['no-torch'] || values.model === 'demo') continue; // torch_bench.py has B0 only
      // Same thread count as the tfjs backends measured (wasm: one per replica).
      const threadCounts = [...new Set([...best.values()].flatMap((r) => ('threads' in r ? [r.threads] : [])))].sort();
      for (const t of threadCounts.length ? threadCounts : [1]) {
        process.stdout.write(`  round ${round}: torch at ${size}, ${t} thread(s)...`);
        const r = await runTorchBench(size, batchFor.get(size) ?? batch, t, steps);
        process.stdout.write(` ${r.ok ? `${fmt(r.trainImgS)} img/s` : r.reason}\n`);
        const prev = torch.get(t);
        if (!prev || !prev.ok || (r.ok && r.trainImgS > prev.trainImgS)) torch.set(t, r);
        const seen = torchRounds.get(t) ?? [];
        seen[round - 1] = r.ok ? r.trainImgS : undefined;
        torchRounds.set(t, seen);
      }
    }
    for (const r of best.values()) {
      if ('skipped' in r) {
        rows.push(`| ${size} | tfjs ${r.backend} | | skipped: ${r.skipped} | | |`);
      } else if ('error' in r) {
        rows.push(`| ${size} | tfjs ${r.backend} | | failed: ${r.error} | | |`);
      } else {
        const peer = torch.get(r.threads);
        const ratio = peer?.ok ? `${(r.trainImgS / peer.trainImgS).toFixed(2)}x` : 'n/a';
        const shrunk = r.batch !== batch ? ` (batch ${r.batch}: ${batch} exceeds the 4 GB wasm heap)` : '';
        rows.push(`| ${size} | tfjs ${r.backend} | ${r.threads} | ${fmt(r.trainImgS)}${shrunk} | ${peer?.ok ? fmt(peer.trainImgS) : 'n/a'} | ${ratio} | ${fmt(r.cpuMsPerImage)} |`);
      }
    }
    for (const [t, p] of torch) if (!p.ok) rows.push(`| ${size} | torch | ${t} | ${p.reason} | | |`);
    paired.push(...pairedRows(size, rounds1));
    pairedTorch.push(...pairedTorchRows(size, rounds1, torchRounds));
  }
  const model = [...new Set(modelNotes)].join('; ');
  console.log(`\nmodel: ${model}; best of ${rounds} round(s) each, alternating`);
  console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (${availableParallelism()} cores; shared machines swing these figures)`);
  console.log('| size | engine | threads (wasm: workers) | train img/s | torch img/s (same threads) | tfjs / torch | tfjs CPU-ms/img |');
  console.log('|---:|---|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(r);
  if (paired.length) {
    console.log(`\nN workers against 1, round by round (each round runs them back to back, so both see about the same load): median [min-max] of ${rounds} pair(s)`);
    console.log('| size | engine | workers | img/s ratio | CPU-ms/img ratio |');
    console.log('|---:|---|---:|---:|---:|');
    for (const r of paired) console.log(r);
  }
  if (pairedTorch.length) {
    // Best-of-rounds ratios swing with whichever side had the luckier round; torch's 2-thread
    // rounds varied 47-59 img/s at 96 px on one quiet afternoon. Each round runs tfjs and
    // torch one after the other, so the per-round ratio is the steadier figure.
    console.log(`\ntfjs against torch at the same thread count, round by round: median [min-max] of ${rounds} pair(s)`);
    console.log('| size | engine | threads (wasm: workers) | img/s ratio |');
    console.log('|---:|---|---:|---:|');
    for (const r of pairedTorch) console.log(r);
  }
}

function spread(values: number[]): string {
  const v = [...values].sort((a, b) => a - b);
  const median = v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  return `${median.toFixed(2)}x [${v[0]!.toFixed(2)}-${v[v.length - 1]!.toFixed(2)}]`;
}

/** Ratios of tfjs to torch (same threads) from the same round. */
function pairedTorchRows(size: number, byKey: Map<string, (WorkerResult | undefined)[]>, torchRounds: Map<number, (number | undefined)[]>): string[] {
  const out: string[] = [];
  for (const [key, results] of byKey) {
    const threads = results.find((r) => r)?.threads;
    const peer = threads === undefined ? undefined : torchRounds.get(threads);
    if (!peer) continue;
    const ratios = results.flatMap((r, i) => (r && peer[i] ? [r.trainImgS / peer[i]!] : []));
    if (ratios.length) out.push(`| ${size} | tfjs ${key.split('×')[0]} | ${threads} | ${spread(ratios)} |`);
  }
  return out;
}

/** Ratios of N workers to 1 worker from the same round: the peer that ran next to it. */
function pairedRows(size: number, byKey: Map<string, (WorkerResult | undefined)[]>): string[] {
  const out: string[] = [];
  for (const [key, results] of byKey) {
    const [backend, workers] = key.split('×');
    const solo = byKey.get(`${backend}×1`);
    if (workers === '1' || !solo) continue;
    const pairs = results.flatMap((r, i) => (r && solo[i] ? [[r, solo[i]!] as const] : []));
    if (!pairs.length) continue;
    out.push(`| ${size} | tfjs ${backend} | ${workers} | ${spread(pairs.map(([r, s]) => r.trainImgS / s.trainImgS))} | ${spread(pairs.map(([r, s]) => r.cpuMsPerImage / s.cpuMsPerImage))} |`);
  }
  return out;
}

await main();
