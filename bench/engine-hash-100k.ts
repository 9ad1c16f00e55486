// Benchmark (issues 2, 18): a pipeline whose first stage depends on a folder of FILES small
// files (default 100,000; `1000000` for the million-file mode). Prints, side by side on the
// same tree in the page cache:
//  (a) cold `pipeline status` beside `sha256sum` over the same files, PAIRS pairs in turn
//      (ratio, goal >= 1.0x);
//  (b) a no-op `pipeline run` beside a no-op `make -r` whose one target depends on every
//      file (make compares mtimes only), run in turn A B A B so drift hits both; the ratio
//      pair by pair (goal <= 1.5x), and the run's peak memory per file (goal <= 0.3 KB);
//  (c) `status` after one file modified, one added, one removed: wall, CPU (against a no-op
//      status), peak memory, and the bytes each wrote under .pipeline/.
// The load average is printed with the figures: the machine may be shared.
// Usage: node --import tsx bench/engine-hash-100k.ts [FILES=100000] [PAIRS=3]
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FILES = Number(process.argv[2] ?? 100_000);
const PAIRS = Number(process.argv[3] ?? 3);
const PER_DIR = 1000;
const BIN = fileURLToPath(new URL('../bin/pipeline.js', import.meta.url));

interface Timing {
  wall: number;
  /** user + sys CPU seconds of the command and its children: what it costs on an idle machine. */
  cpu: number;
  /** Peak resident set of the largest process, KB. */
  maxKb: number;
}

/** Runs a command under /usr/bin/time for wall and CPU seconds and peak memory. */
function timed(cwd: string, file: string, args: string[]): Timing {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIMING %e %U %S %M', file, ...args], { cwd, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const m = /TIMING (\S+) (\S+) (\S+) (\S+)/.exec(r.stderr)!;
  return { wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]), maxKb: Number(m[4]) };
}

const pipeline = (cwd: string, ...args: string[]): Timing => timed(cwd, process.execPath, [BIN, ...args]);
const fmt = (t: Timing): string => `${t.wall.toFixed(2)} s wall, ${t.cpu.toFixed(2)} s CPU`;
const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Every file under .pipeline/ (recursively) with its inode, size and mtime. */
function stateFiles(root: string): Map<string, { ino: number; size: number; mtimeMs: number }> {
  const out = new Map<string, { ino: number; size: number; mtimeMs: number }>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const st = statSync(p);
        out.set(p, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs });
      }
    }
  };
  walk(join(root, '.pipeline'));
  return out;
}

/** Bytes written between two `stateFiles`: growth of a file appended in place, the whole of one replaced. */
function writtenSince(before: ReturnType<typeof stateFiles>, after: ReturnType<typeof stateFiles>): string {
  const parts: string[] = [];
  let total = 0;
  for (const [p, a] of after) {
    const b = before.get(p);
    if (b && b.ino === a.ino && b.mtimeMs === a.mtimeMs && b.size === a.size) continue;
    const n = b && b.ino === a.ino && a.size >= b.size ? a.size - b.size : a.size;
    total += n;
    parts.push(`${p.slice(p.lastIndexOf('.pipeline/') + '.pipeline/'.length)} ${b && b.ino === a.ino ? '+' : ''}${n.toLocaleString('en')}`);
  }
  return `${total.toLocaleString('en')} bytes (${parts.join(', ') || 'nothing'})`;
}

const root = mkdtempSync(join(tmpdir(), 'bench-hash-'));
try {
  let bytes = 0;
  const t0 = performance.now();
  const names: string[] = [];
  for (let i = 0; i < FILES; i++) {
    const dir = `data/d${Math.floor(i / PER_DIR)}`;
    if (i % PER_DIR === 0) mkdirSync(join(root, dir), { recursive: true });
    // 512 B .. 2 KiB of random bytes: small files, as in an image-folder manifest
    const buf = randomBytes(512 + ((i * 37) % 1536));
    bytes += buf.length;
    names.push(`${dir}/f${i}.bin`);
    writeFileSync(join(root, names[i]!), buf);
    if (i > 0 && i % 100_000 === 0) console.log(`generated ${i}/${FILES} files`);
  }
  writeFileSync(join(root, 'package.json'), '{"type":"module"}\n');
  writeFileSync(
    join(root, 'pipeline.yaml'),
    'stages:\n  count:\n    cmd: "find data -type f | wc -l > count.txt"\n    deps: [data]\n    outs: [count.txt]\n',
  );
  // make's peer: one target that depends on every file, made by the same command.
  writeFileSync(join(root, 'Makefile'), `make-count.txt: ${names.join(' ')}\n\tfind data -type f | wc -l > make-count.txt\n`);
  names.length = 0;
  const mb = bytes / 1e6;
  console.log(`${FILES} files, ${mb.toFixed(1)} MB, generated in ${((performance.now() - t0) / 1000).toFixed(1)} s (in the page cache for every tool)`);

  // The first engine command after a source edit bundles src/cli (bin/pipeline.js): done
  // here, outside the timings, so they show the steady state.
  pipeline(root, 'dag');
  console.log(`\n(a) cold hashing, ${PAIRS} pairs in turn, load average ${load()} on ${availableParallelism()} cores`);
  const coldPairs: { sha: Timing; cold: Timing }[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const sha = timed(root, 'sh', ['-c', 'find data -type f -print0 | xargs -0 sha256sum > /dev/null']);
    rmSync(join(root, '.pipeline'), { recursive: true, force: true }); // cold: no stat cache, no snapshot
    const cold = pipeline(root, 'status');
    coldPairs.push({ sha, cold });
    console.log(`  pair ${i + 1}: sha256sum (find | xargs) ${fmt(sha)} | pipeline status (cold) ${fmt(cold)}, ${(cold.maxKb / 1024).toFixed(0)} MB peak | ${(sha.wall / cold.wall).toFixed(2)}x by wall`);
  }
  const shaWall = median(coldPairs.map((p) => p.sha.wall));
  const coldWall = median(coldPairs.map((p) => p.cold.wall));
  console.log(`sha256sum: ${(FILES / shaWall).toFixed(0)} files/s, ${(mb / shaWall).toFixed(1)} MB/s; pipeline status (cold): ${(FILES / coldWall).toFixed(0)} files/s, ${(mb / coldWall).toFixed(1)} MB/s (medians)`);
  console.log(`throughput ratio pipeline/sha256sum, median of pairs: ${median(coldPairs.map((p) => p.sha.wall / p.cold.wall)).toFixed(2)}x by wall time, ${median(coldPairs.map((p) => p.sha.cpu / p.cold.cpu)).toFixed(2)}x by CPU time (goal >= 1.0x); load average now ${load()}`);

  pipeline(root, 'run');
  timed(root, 'make', ['-r', '-s']);
  console.log(`\n(b) no-op, ${PAIRS} pairs in turn, load average ${load()}`);
  const pairs: { a: Timing; b: Timing }[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const a = pipeline(root, 'run');
    const b = timed(root, 'make', ['-r']);
    pairs.push({ a, b });
    console.log(`  pair ${i + 1}: pipeline run ${fmt(a)}, ${(a.maxKb / 1024).toFixed(0)} MB peak | make -r ${fmt(b)} | ratio ${(a.wall / b.wall).toFixed(2)}x wall, ${(a.cpu / b.cpu).toFixed(2)}x CPU`);
  }
  const wallRatio = median(pairs.map((p) => p.a.wall / p.b.wall));
  const cpuRatio = median(pairs.map((p) => p.a.cpu / p.b.cpu));
  const kbPerFile = median(pairs.map((p) => p.a.maxKb)) / FILES;
  console.log(`no-op pipeline run / make -r: median ${wallRatio.toFixed(2)}x wall, ${cpuRatio.toFixed(2)}x CPU (goal <= 1.5x); pipeline run ${median(pairs.map((p) => p.a.wall)).toFixed(2)} s, make -r ${median(pairs.map((p) => p.b.wall)).toFixed(2)} s`);
  console.log(`peak memory of the no-op run: ${(kbPerFile * 1.024).toFixed(3)} KB per file (goal <= 0.3), ${(median(pairs.map((p) => p.a.maxKb)) / 1024).toFixed(0)} MB; load average now ${load()}`);

  // (c) one changed file under the folder dep, then `status` (hashes every dep and out, saves
  // the caches): the re-check should cost about a no-op plus reading that file.
  const noopStatus = pipeline(root, 'status');
  console.log(`\n(c) one changed file, then \`pipeline status\`; load average ${load()}`);
  console.log(`  no-op status (reference):     ${fmt(noopStatus)}, ${(noopStatus.maxKb / 1024).toFixed(0)} MB peak (${((noopStatus.maxKb * 1.024) / FILES).toFixed(3)} KB per file)`);
  const changes: [string, () => void][] = [
    ['one file modified', () => writeFileSync(join(root, 'data/d0/f0.bin'), randomBytes(700))],
    ['one file added', () => writeFileSync(join(root, 'data/d0/new.bin'), randomBytes(900))],
    ['one file removed', () => rmSync(join(root, `data/d0/f${PER_DIR / 2}.bin`))],
  ];
  for (const [what, change] of changes) {
    const before = stateFiles(root);
    change();
    const t = pipeline(root, 'status');
    console.log(
      `  ${`${what}:`.padEnd(29)} ${fmt(t)} (${(t.cpu / noopStatus.cpu).toFixed(2)}x the no-op's CPU), ${(t.maxKb / 1024).toFixed(0)} MB peak (${((t.maxKb * 1.024) / FILES).toFixed(3)} KB per file); wrote ${writtenSince(before, stateFiles(root))}`,
    );
  }
  writeFileSync(join(root, 'data/d0/f1.bin'), randomBytes(800));
  const rerun = pipeline(root, 'run');
  console.log(`  \`pipeline run\` after one modified file (the stage's command reruns too): ${fmt(rerun)}, ${(rerun.maxKb / 1024).toFixed(0)} MB peak`);
  console.log(`for scale, startup alone (\`pipeline dag\`, bundled): ${fmt(pipeline(root, 'dag'))}`);
  console.log(`load average at the end: ${load()} on ${availableParallelism()} cores`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
