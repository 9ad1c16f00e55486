import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collect, isRunning, stagesRan, TestProject, waitFor } from '../helpers/project-rig.ts';

// The stage's behaviour is steered by mode.txt: ok (writes out), fail (writes a partial out
// and exits 1), hang (writes a partial out, says so, and sleeps until killed).
const PIPELINE = `stages:
  make:
    cmd: "sh make.sh"
    deps: [mode.txt]
    outs: [out]
  after:
    cmd: "cat out/result.txt > after.txt"
    deps: [out]
    outs: [after.txt]
`;
const MAKE_SH = `mode=$(cat mode.txt)
mkdir -p out
echo "partial" > out/result.txt
echo "working in mode $mode"
if [ "$mode" = fail ]; then exit 1; fi
if [ "$mode" = hang ]; then echo $$ > stage.pid; sleep 60; exit 0; fi
echo "good $mode" > out/result.txt
`;

describe('outs and the lock survive failures', () => {
  let p: TestProject;
  let lockBefore: string;
  beforeEach(async () => {
    p = TestProject.create({ 'pipeline.yaml': PIPELINE, 'make.sh': MAKE_SH, 'mode.txt': 'ok\n' });
    const first = await p.cli('run');
    expect(first.code, first.stderr).toBe(0);
    lockBefore = p.read('pipeline.lock');
  });
  afterEach(() => p.cleanup());

  it('a failing stage exits 1, keeps the previous outs and lock, and stops downstream', async () => {
    p.write('mode.txt', 'fail\n');
    const r = await p.cli('run');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('[make] working in mode fail');
    expect(r.stderr).toContain('x make: FAILED, exited with code 1 (log: .pipeline/logs/make.log)');
    expect(r.stdout).toMatch(/after\s+not run/);
    expect(p.read('out/result.txt')).toBe('good ok\n');
    expect(p.read('pipeline.lock')).toBe(lockBefore);
    expect(p.read('.pipeline/logs/make.log')).toBe('working in mode fail\n');
  });

  it('Ctrl-C during a stage stops it, restores the previous outs and keeps the lock', async () => {
    p.write('mode.txt', 'hang\n');
    const child = p.spawn(['run']);
    const done = collect(child);
    await waitFor(() => p.exists('stage.pid'));
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    expect(p.read('out/result.txt')).toBe('good ok\n');
    expect(p.read('pipeline.lock')).toBe(lockBefore);
    expect(p.exists('.pipeline/run.lock')).toBe(false);
    expect(isRunning(Number(p.read('stage.pid')))).toBe(false);
  });

  it('after the runner is killed with -9, the next run restores the outs and takes over the lock', async () => {
    p.write('mode.txt', 'hang\n');
    const child = p.spawn(['run']);
    const done = collect(child);
    await waitFor(() => p.exists('stage.pid'));
    child.kill('SIGKILL');
    await done;
    const orphan = Number(p.read('stage.pid'));
    expect(isRunning(orphan)).toBe(true); // the stage outlives its runner
    expect(p.read('out/result.txt')).toBe('partial\n');
    expect(p.exists('.pipeline/run.lock')).toBe(true);

    p.write('mode.txt', 'fail\n');
    const r = await p.cli('run');
    expect(r.stderr).toContain('stopped make: still running from a run that was killed');
    expect(r.stderr).toContain('recovered the previous outs of make (left aside by an interrupted run)');
    expect(isRunning(orphan)).toBe(false);
    expect(r.code).toBe(1);
    expect(p.read('out/result.txt')).toBe('good ok\n');
    expect(p.read('pipeline.lock')).toBe(lockBefore);
  });

  it('a second run while one is going exits 4 naming the holder pid', async () => {
    p.write('mode.txt', 'hang\n');
    const child = p.spawn(['run']);
    const done = collect(child);
    await waitFor(() => p.exists('stage.pid'));
    const second = await p.cli('run');
    expect(second.code).toBe(4);
    expect(second.stderr).toContain(`another pipeline run (pid ${child.pid}) holds the lock`);
    child.kill('SIGTERM');
    expect((await done).code).toBe(130);
  });

  it('a lock file left by a dead process is taken over', async () => {
    writeFileSync(p.path('.pipeline/run.lock'), '999999999\n');
    p.write('mode.txt', 'again\n');
    const r = await p.cli('run');
    expect(r.code, r.stderr).toBe(0);
    expect(stagesRan(r.stdout)).toEqual(['make', 'after']);
    expect(readFileSync(p.path('after.txt'), 'utf8')).toBe('good again\n');
  });
});
