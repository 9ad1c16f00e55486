/**
 * Runs the PyTorch peer (/work/shared/reference/torch_bench.py, Debian's python3-torch and
 * python3-torchvision) and returns its figures, or why it could not run.
 *
 *   node --import tsx bench/train-throughput-torch.ts [--size 64] [--batch 16] [--threads 1]
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';

const run = promisify(execFile);

export const TORCH_BENCH = process.env.BRICKFLOW_TORCH_BENCH ?? '/work/shared/reference/torch_bench.py';
const PYTHON = '/usr/bin/python3'; // Debian's, which has python3-torch; not a pyenv one

export type TorchResult =
  | { ok: true; engine: string; threads: number; size: number; batch: number; forwardImgS: number; trainImgS: number }
  | { ok: false; reason: string };

export async function runTorchBench(size: number, batch: number, threads: number, steps = 5): Promise<TorchResult> {
  if (!existsSync(TORCH_BENCH)) return { ok: false, reason: `${TORCH_BENCH} not found` };
  if (!existsSync(PYTHON)) return { ok: false, reason: `${PYTHON} not found` };
  try {
    const { stdout } = await run(
      PYTHON,
      [TORCH_BENCH, '--size', String(size), '--batch', String(batch), '--threads', String(threads), '--steps', String(steps)],
      { maxBuffer: 1 << 20, timeout: 30 * 60_000 },
    );
    const line = stdout.trim().split('\n').pop() ?? '';
    const j = JSON.parse(line) as { engine: string; threads: number; size: number; batch: number; forward_img_s: number; train_img_s: number };
    return { ok: true, engine: j.engine, threads: j.threads, size: j.size, batch: j.batch, forwardImgS: j.forward_img_s, trainImgS: j.train_img_s };
  } catch (e) {
    const err = e as { stderr?: string; message?: string };
    const last = (err.stderr ?? err.message ?? String(e)).trim().split('\n').pop();
    return { ok: false, reason: `${PYTHON} ${TORCH_BENCH} failed: ${last}` };
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { size: { type: 'string', default: '64' }, batch: { type: 'string', default: '16' }, threads: { type: 'string', default: '1' } } });
  console.log(JSON.stringify(await runTorchBench(Number(values.size), Number(values.batch), Number(values.threads))));
}
