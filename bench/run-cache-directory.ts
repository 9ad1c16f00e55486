/**
 * Run-cache transfer figures against a directory remote (a folder on this disk standing in
 * for a mounted share): a toy stage writes a tree of files (default 2,000 x 32 KB, 64 MB, a
 * stand-in for the augment cache's blobs), then `pipeline push` sends it to an empty remote
 * and `pipeline pull` fetches it into a fresh clone (objects into .pipeline/cache and the outs
 * into the workspace), beside `cp -r` and `rsync -a` of the same tree into an empty folder,
 * run in turn in this script; then a no-op pull (everything present). Wall times include the
 * CLI's start-up (~0.3-0.5 s). Prints MB/s, ratios and the load average.
 *
 * usage: node --import tsx bench/run-cache-directory.ts [--files 2000] [--kb 32]
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { files: { type: 'string', default: '2000' }, kb: { type: 'string', default: '32' } } });
const files = Number(values.files);
const kb = Number(values.kb);
const bin = resolve(import.meta.dirname, '..', 'bin/pipeline.js');
const root = mkdtempSync(join(tmpdir(), 'brickflow-cache-bench-'));
const remote = join(root, 'remote');
mkdirSync(remote);
const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');

const pipeline = `remotes:\n  default: share\n  share: {url: ${remote}}\nstages:\n  blobs:\n    cmd: node make.js\n    deps: [make.js]\n    outs: [out]\n`;
// Random bytes per file (no two alike), so nothing dedupes.
const make = `import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
for (let i = 0; i < ${files}; i++) { const d = 'out/' + String(i % 64).padStart(2, '0'); mkdirSync(d, { recursive: true }); writeFileSync(d + '/' + i + '.bin', randomBytes(${kb * 1024})); }
`;
function project(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  writeFileSync(join(dir, 'pipeline.yaml'), pipeline);
  writeFileSync(join(dir, 'make.js'), make);
  return dir;
}
function pipelineCli(cwd: string, ...args: string[]): number {
  const start = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pipeline ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return (performance.now() - start) / 1000;
}
function timed(cmd: string, args: string[]): number {
  const start = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} exited ${r.status}: ${r.stderr}`);
  return (performance.now() - start) / 1000;
}

const a = project('a');
pipelineCli(a, 'run');
const mb = (files * kb * 1024) / 1e6;
console.log(`tree: ${files} files x ${kb} KB = ${mb.toFixed(1)} MB; load average ${load()}`);

const push = pipelineCli(a, 'push');
const cp = timed('cp', ['-r', join(a, 'out'), join(root, 'cp-copy')]);
const rsync = timed('rsync', ['-a', join(a, 'out') + '/', join(root, 'rsync-copy')]);
const b = project('b');
cpSync(join(a, 'pipeline.lock'), join(b, 'pipeline.lock'));
const pull = pipelineCli(b, 'pull');
const noop = pipelineCli(b, 'pull');
const status = pipelineCli(b, 'status');
const rate = (s: number): string => `${(mb / s).toFixed(0)} MB/s (${s.toFixed(2)} s)`;
console.log(`push to an empty directory remote: ${rate(push)}`);
console.log(`pull into a fresh clone (cache + workspace): ${rate(pull)}`);
console.log(`cp -r of the tree: ${rate(cp)}; rsync -a: ${rate(rsync)}`);
console.log(`push / cp -r: ${(push / cp).toFixed(2)}x the time; push / rsync: ${(push / rsync).toFixed(2)}x; pull / rsync: ${(pull / rsync).toFixed(2)}x`);
console.log(`no-op pull (everything present): ${noop.toFixed(2)} s; \`pipeline status\` of the same project (the CLI's floor): ${status.toFixed(2)} s`);
console.log(`load average after: ${load()}`);
rmSync(root, { recursive: true, force: true });
