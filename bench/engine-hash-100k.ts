// Benchmark (issue 2): a pipeline whose first stage depends on a folder of 100,000 small
// files. Prints (a) cold `pipeline status` throughput beside `sha256sum` over the same
// files, as a ratio, and (b) the wall time of a no-op `pipeline run` right after.
// Usage: node --import tsx bench/engine-hash-100k.ts [FILES=100000]
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FILES = Number(process.argv[2] ?? 100_000);
const PER_DIR = 1000;
const BIN = fileURLToPath(new URL('../bin/pipeline.js', import.meta.url));

function wall(fn: () => void): number {
  const t = performance.now();
  fn();
  return (performance.now() - t) / 1000;
}

interface Timing {
  wall: number;
  /** user + sys CPU seconds of the command and its children: what it costs on an idle machine. */
  cpu: number;
}

/** Runs a command under /usr/bin/time for wall and CPU seconds (the machine may be shared). */
function timed(cwd: string, file: string, args: string[]): Timing {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIMING %e %U %S', file, ...args], { cwd, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const m = /TIMING (\S+) (\S+) (\S+)/.exec(r.stderr)!;
  return { wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]) };
}

function pipeline(cwd: string, ...args: string[]): Timing {
  return timed(cwd, process.execPath, [BIN, ...args]);
}

const fmt = (t: Timing): string => `${t.wall.toFixed(2)} s wall, ${t.cpu.toFixed(2)} s CPU`;

const root = mkdtempSync(join(tmpdir(), 'bench-hash-'));
try {
  let bytes = 0;
  const gen = wall(() => {
    for (let i = 0; i < FILES; i++) {
      if (i % PER_DIR === 0) mkdirSync(join(root, 'data', `d${i / PER_DIR}`), { recursive: true });
      // 512 B .. 2 KiB of random bytes: small files, as in an image-folder manifest
      const buf = randomBytes(512 + ((i * 37) % 1536));
      bytes += buf.length;
      writeFileSync(join(root, 'data', `d${Math.floor(i / PER_DIR)}`, `f${i}.bin`), buf);
      if (i > 0 && i % 20_000 === 0) console.log(`generated ${i}/${FILES} files`);
    }
  });
  writeFileSync(join(root, 'package.json'), '{"type":"module"}\n');
  writeFileSync(
    join(root, 'pipeline.yaml'),
    'stages:\n  count:\n    cmd: "find data -type f | wc -l > count.txt"\n    deps: [data]\n    outs: [count.txt]\n',
  );
  const mb = bytes / 1e6;
  console.log(`${FILES} files, ${mb.toFixed(1)} MB, generated in ${gen.toFixed(1)} s (in the page cache for both tools)`);

  // The first engine command after a source edit bundles src/cli (bin/pipeline.js): done
  // here, outside the timings, so they show the steady state.
  const bundle = pipeline(root, 'dag');
  const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const sha = timed(root, 'sh', ['-c', 'find data -type f -print0 | xargs -0 sha256sum > /dev/null']);
  const cold = pipeline(root, 'status');
  console.log(`sha256sum (find | xargs):  ${fmt(sha)}  ${(FILES / sha.wall).toFixed(0)} files/s  ${(mb / sha.wall).toFixed(1)} MB/s`);
  console.log(`pipeline status (cold):    ${fmt(cold)}  ${(FILES / cold.wall).toFixed(0)} files/s  ${(mb / cold.wall).toFixed(1)} MB/s`);
  console.log(`throughput ratio pipeline/sha256sum: ${(sha.wall / cold.wall).toFixed(2)}x by wall time, ${(sha.cpu / cold.cpu).toFixed(2)}x by CPU time (goal >= 0.8x)`);

  pipeline(root, 'run');
  const noops = [0, 1, 2].map(() => pipeline(root, 'run'));
  const best = noops.reduce((a, b) => (a.wall < b.wall ? a : b));
  console.log(`no-op pipeline run:        ${noops.map(fmt).join('; ')} (best ${best.wall.toFixed(2)} s wall; goal < 1 s)`);
  console.log(`for scale, startup alone (\`pipeline dag\`, bundled): ${fmt(pipeline(root, 'dag'))}; first run after a source edit (bundling): ${fmt(bundle)}`);
  console.log(`for scale, startup through tsx (\`pipeline --help\`): ${fmt(pipeline(root, '--help'))}`);
  console.log(`load average before / after: ${load0} / ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} on ${availableParallelism()} cores`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
