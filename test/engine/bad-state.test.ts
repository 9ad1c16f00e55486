import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { collect, PIPELINE_BIN, REPO_ROOT, stagesRan, TestProject, waitFor } from '../helpers/project-rig.ts';

const PIPELINE = `stages:
  make:
    cmd: "sh make.sh"
    deps: [mode.txt]
    outs: [out]
`;
const MAKE_SH = `mkdir -p out
echo "made from $(cat mode.txt)" > out/result.txt
if [ "$(cat mode.txt)" = hang ]; then echo $$ > stage.pid; sleep 60; fi
`;

function project(): TestProject {
  return TestProject.create({ 'pipeline.yaml': PIPELINE, 'make.sh': MAKE_SH, 'mode.txt': 'ok\n' });
}

describe('bad state gets a clear error', () => {
  let p: TestProject;
  afterEach(() => p.cleanup());

  it('a damaged pipeline.lock: run and status name it and say what to do, exit 2, no stack trace', async () => {
    p = project();
    expect((await p.cli('run')).code).toBe(0);
    p.write('pipeline.lock', '{"version": 1, "stages": {"make": ');
    for (const args of [['run'], ['status'], ['run', '--dry-run']]) {
      const r = await p.cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^error: pipeline\.lock is damaged: .+\n {2}restore it \(git checkout -- pipeline\.lock\) or delete it to rebuild every stage\n$/);
      expect(r.stderr).not.toContain('    at ');
    }
    expect(p.read('out/result.txt')).toBe('made from ok\n');
  });

  it('a pipeline.lock that cannot be read is an error, not an empty lock', async () => {
    p = project();
    mkdirSync(p.path('pipeline.lock'));
    const r = await p.cli('run');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: cannot read pipeline.lock (EISDIR)');
    expect(r.stderr).toContain('pipeline.lock is a folder; move it away');
    expect(stagesRan(r.stdout)).toEqual([]);
  });

  it('metrics --diff of a revision that does not exist exits 2 with a message', async () => {
    p = project();
    execFileSync('git', ['init', '-q'], { cwd: p.dir });
    const r = await p.cli('metrics', '--diff', 'no-such-rev');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: metrics --diff: "no-such-rev" is not a commit of the git repository');
  });

  it('watch prints a round that fails on a damaged pipeline.lock and keeps watching', async () => {
    p = project();
    p.write('pipeline.lock', 'not json');
    const child = p.spawn(['watch', '--until', 'make', '--quiet-ms', '100']);
    const done = collect(child);
    let stdout = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    try {
      await waitFor(() => stdout.includes('watch: round 1 done'));
      expect(stdout).toMatch(/watch: round 1 done \(exit 2, pipeline\.lock is damaged: .+\); waiting for changes/);
      p.remove('pipeline.lock');
      p.write('mode.txt', 'again\n');
      await waitFor(() => stdout.includes('watch: round 2 done'));
    } finally {
      child.kill('SIGTERM');
    }
    const r = await done;
    expect(r.stderr).toContain('error: pipeline.lock is damaged');
    expect(r.stdout).toContain('watch: round 2 done (exit 0)');
    expect(p.read('out/result.txt')).toBe('made from again\n');
  });

  it('status says when a run is in progress, and which outs an interrupted run left aside', async () => {
    p = project();
    expect((await p.cli('run')).code).toBe(0);
    p.write('mode.txt', 'hang\n');
    const runner = p.spawn(['run']);
    const done = collect(runner);
    await waitFor(() => p.exists('stage.pid'));
    const during = await p.cli('status');
    expect(during.stdout).toContain(`a run is in progress (pid ${runner.pid} holds the run lock)`);
    expect(during.stdout).toMatch(/make\s+running \(run in progress/);

    runner.kill('SIGKILL');
    await done;
    const after = await p.cli('status');
    expect(after.stdout).not.toContain('a run is in progress');
    expect(after.stdout).toMatch(/make\s+interrupted run: outs will be restored by the next run/);
    expect(after.stdout).not.toContain('was edited');

    p.write('mode.txt', 'ok\n');
    const next = await p.cli('run');
    expect(next.code, next.stderr).toBe(0);
    expect(p.read('out/result.txt')).toBe('made from ok\n');
  });

  it('bin/pipeline.js warns when it cannot bundle, then runs the sources through tsx', async () => {
    p = project();
    // A checkout whose node_modules lacks esbuild: bin/pipeline.js copied, the rest linked.
    const root = mkdtempSync(join(tmpdir(), 'brickflow-nobundle-'));
    try {
      mkdirSync(join(root, 'bin'));
      cpSync(PIPELINE_BIN, join(root, 'bin/pipeline.js'));
      for (const entry of ['src', 'schemas', 'package.json']) symlinkSync(join(REPO_ROOT, entry), join(root, entry));
      mkdirSync(join(root, 'node_modules'));
      for (const pkg of readdirSync(join(REPO_ROOT, 'node_modules'))) {
        if (pkg !== 'esbuild' && pkg !== '.cache') symlinkSync(join(REPO_ROOT, 'node_modules', pkg), join(root, 'node_modules', pkg));
      }
      const r = spawnSync(process.execPath, [join(root, 'bin/pipeline.js'), 'dag'], { cwd: p.dir, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^pipeline: warning: could not bundle the CLI \(.*esbuild.*\); running the sources through tsx\n$/);
      expect(r.stdout).toContain('make');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

// A full disk, for real: each scenario runs in a private mount namespace on a tiny tmpfs.
const canMountTmpfs = spawnSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=64k none /mnt'], { stdio: 'ignore' }).status === 0;

/** Copies `p` onto a fresh tmpfs of `size`, runs `script` there (sh), returns its output. */
function onTinyDisk(p: TestProject, size: string, script: string): string {
  const mnt = mkdtempSync(join(tmpdir(), 'brickflow-tinydisk-'));
  try {
    const r = spawnSync(
      'unshare',
      ['-rm', 'sh', '-c', `mount -t tmpfs -o size=${size} none "$MNT" && cp -a "$SRC/." "$MNT/" && cd "$MNT" && ${script}; echo; echo "temp files: $(find . -name '*.tmp' | wc -l)"`],
      { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', MNT: mnt, SRC: p.dir, BIN: PIPELINE_BIN, NODE: process.execPath } },
    );
    return `${r.stdout}${r.stderr}`;
  } finally {
    rmSync(mnt, { recursive: true, force: true });
  }
}

describe.skipIf(!canMountTmpfs)('a full disk', () => {
  let p: TestProject;
  afterEach(() => p.cleanup());

  it('a stage that fills the disk: the runner restores its outs, prints its summary and a named error (exit 2); with 0 bytes free the run lock gets one too; no temp file is left', async () => {
    p = TestProject.create({
      // With fill.flag present the stage writes its out, then fills the disk and exits 0.
      'pipeline.yaml': `stages:\n  fill:\n    cmd: "mkdir -p out && echo new > out/a.txt && if [ -f fill.flag ]; then head -c 100000000 /dev/zero > filler 2>/dev/null; fi; true"\n    deps: [in.txt]\n    outs: [out]\n`,
      'in.txt': 'v1\n',
      'fill.flag': '',
    });
    const fillUp = 'head -c 100000000 /dev/zero > filler2 2>/dev/null';
    const text = onTinyDisk(
      p,
      '1m',
      `"$NODE" "$BIN" run 2>&1; echo "exit=$?"; ${fillUp}; "$NODE" "$BIN" run 2>&1; echo "exit=$?"; rm filler filler2 fill.flag; "$NODE" "$BIN" run 2>&1; echo "exit=$?"`,
    );
    const [first, second, third] = text.split(/exit=\d+/);
    expect(text).toMatch(/exit=2[\s\S]*exit=2[\s\S]*exit=0/);
    expect(first).toContain('x fill: FAILED, disk full: could not write pipeline.lock (ENOSPC); previous outs restored');
    expect(first).toMatch(/fill\s+FAILED/); // the summary table
    expect(first).toContain('free some space on the disk that holds the project, then run again');
    expect(first).not.toContain('    at ');
    expect(second).toContain('error: disk full: could not write .pipeline/run.lock (ENOSPC)');
    expect(third).toMatch(/fill\s+ran/);
    expect(text).toContain('temp files: 0');
  });

  it('a stage that dies on a full disk is a failed stage (exit 1) and the message says the disk is full', () => {
    p = TestProject.create({
      'pipeline.yaml': `stages:\n  big:\n    cmd: "mkdir -p out && head -c 100000000 /dev/zero > out/big.bin"\n    deps: [in.txt]\n    outs: [out]\n`,
      'in.txt': 'v1\n',
    });
    const text = onTinyDisk(p, '1m', `"$NODE" "$BIN" run 2>&1; echo "exit=$?"`);
    expect(text).toContain('exit=1');
    expect(text).toContain('x big: FAILED, exited with code 1 (disk full: free some space on the disk that holds the project, then run again)');
    expect(text).toMatch(/big\s+FAILED/);
    expect(text).toContain('temp files: 0');
  });
});
