// Benchmark (issue 2): a pipeline whose first stage depends on a folder of 100,000 small
// files. Prints (a) cold `pipeline status` throughput beside `sha256sum` over the same
// files, as a ratio, and (b) the wall time of a no-op `pipeline run` right after.
// Usage: node --import tsx bench/engine-hash-100k.ts [FILES=100000]
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

function pipeline(cwd: string, ...args: string[]): void {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pipeline ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
}

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

  const sha = wall(() => execFileSync('sh', ['-c', 'find data -type f -print0 | xargs -0 sha256sum > /dev/null'], { cwd: root }));
  const cold = wall(() => pipeline(root, 'status'));
  console.log(`sha256sum (find | xargs):  ${sha.toFixed(2)} s  ${(FILES / sha).toFixed(0)} files/s  ${(mb / sha).toFixed(1)} MB/s`);
  console.log(`pipeline status (cold):    ${cold.toFixed(2)} s  ${(FILES / cold).toFixed(0)} files/s  ${(mb / cold).toFixed(1)} MB/s`);
  console.log(`ratio pipeline/sha256sum throughput: ${(sha / cold).toFixed(2)}x (goal >= 0.8x)`);

  pipeline(root, 'run');
  const noops = [0, 1, 2].map(() => wall(() => pipeline(root, 'run')));
  console.log(`no-op pipeline run:        ${noops.map((s) => s.toFixed(2)).join(' s, ')} s (best ${Math.min(...noops).toFixed(2)} s; goal < 1 s)`);
  const bare = wall(() => execFileSync(process.execPath, [BIN, '--help'], { stdio: 'ignore' }));
  console.log(`(for scale: \`pipeline --help\`, startup alone: ${bare.toFixed(2)} s)`);
  console.log(`load average now: ${execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).trim()}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
