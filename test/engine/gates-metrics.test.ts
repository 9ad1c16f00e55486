import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { stagesRan, TestProject } from '../helpers/project-rig.ts';

// `score` copies scores.json (the test's knob) to its metrics file; `ship` runs after it.
const PIPELINE = `stages:
  score:
    cmd: "mkdir -p metrics && cp scores.json metrics/score.json"
    deps: [scores.json]
    metrics: metrics/score.json
    gates: {acc: ">= 0.9", latency_ms: "< 100"}
  ship:
    cmd: "cat metrics/score.json > shipped.json"
    deps: [metrics/score.json]
    outs: [shipped.json]
`;

function project(scores: unknown): TestProject {
  return TestProject.create({ 'pipeline.yaml': PIPELINE, 'scores.json': JSON.stringify(scores) });
}

describe('gates', () => {
  let p: TestProject;
  afterEach(() => p.cleanup());

  it('passing gates print PASS rows and the run exits 0', async () => {
    p = project({ acc: 0.95, latency_ms: 40, detail: { per_class: [1, 2] } });
    const r = await p.cli('run');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/score\s+acc\s+0\.95\s+>= 0\.9\s+PASS/);
    expect(stagesRan(r.stdout)).toEqual(['score', 'ship']);
  });

  it('a missed gate prints the table, stops downstream stages and exits 3', async () => {
    p = project({ acc: 0.5, latency_ms: 40 });
    const r = await p.cli('run');
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/stage\s+metric\s+value\s+target\s+result/);
    expect(r.stdout).toMatch(/score\s+acc\s+0\.5\s+>= 0\.9\s+FAIL/);
    expect(r.stdout).toMatch(/score\s+latency_ms\s+40\s+< 100\s+PASS/);
    expect(stagesRan(r.stdout)).toEqual(['score']);
    expect(p.exists('shipped.json')).toBe(false);
    // The stage itself succeeded: its result is kept, so the next run reruns nothing but still fails the gate.
    const again = await p.cli('run');
    expect(again.code).toBe(3);
    expect(stagesRan(again.stdout)).toEqual([]);
  });

  it('a missing or non-numeric metric fails its gate with a message, not a crash', async () => {
    p = project({ latency_ms: 'fast' });
    const r = await p.cli('run');
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('FAIL (acc is not in metrics/score.json)');
    expect(r.stdout).toContain('FAIL (latency_ms in metrics/score.json is "fast", not a number)');
  });

  it('a stage that reports itself skipped has its gates shown as skipped, and they do not fail', async () => {
    p = project({ status: 'skipped', reason: 'no Pi configured' });
    const r = await p.cli('run');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/score\s+acc\s+-\s+>= 0\.9\s+skipped \(no Pi configured\)/);
  });

  it('a metric the metrics file marks not applicable shows n/a with the reason, and the other gates decide the exit', async () => {
    p = project({ acc: null, latency_ms: 40, not_applicable: { acc: 'the data has no color labels' } });
    const r = await p.cli('run');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/score\s+acc\s+-\s+>= 0\.9\s+n\/a — the data has no color labels/);
    expect(stagesRan(r.stdout)).toEqual(['score', 'ship']);
    p.write('metrics/score.json', JSON.stringify({ acc: null, latency_ms: 400, not_applicable: { acc: 'the data has no color labels' } }));
    expect((await p.cli('gates')).code).toBe(3);
  });

  it('`pipeline gates` says "not run" for a stage that never ran, instead of FAIL', async () => {
    p = project({ acc: 0.95, latency_ms: 40 });
    const r = await p.cli('gates');
    expect(r.stdout).toMatch(/score\s+acc\s+-\s+>= 0\.9\s+not run/);
    expect(r.stdout).not.toContain('FAIL');
  });

  it('`pipeline gates` re-checks the current metrics without running anything', async () => {
    p = project({ acc: 0.95, latency_ms: 40 });
    await p.cli('run');
    expect((await p.cli('gates')).code).toBe(0);
    p.write('metrics/score.json', JSON.stringify({ acc: 0.95, latency_ms: 400 }));
    const r = await p.cli('gates');
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/score\s+latency_ms\s+400\s+< 100\s+FAIL/);
    p.remove('metrics/score.json');
    const gone = await p.cli('gates');
    expect(gone.code).toBe(3);
    expect(gone.stdout).toContain('FAIL (metrics file metrics/score.json does not exist)');
  });
});

describe('metrics', () => {
  let p: TestProject;
  afterEach(() => p.cleanup());

  const git = (...args: string[]): string =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: p.path('.'), encoding: 'utf8' });

  it('prints current metrics as a table and as JSON', async () => {
    p = project({ acc: 0.95, latency_ms: 40, detail: { x: 1 } });
    await p.cli('run');
    expect((await p.cli('metrics')).stdout).toMatch(/score\s+acc\s+0\.95\nscore\s+latency_ms\s+40/);
    expect(JSON.parse((await p.cli('metrics', '--json')).stdout)).toEqual({ score: { acc: 0.95, latency_ms: 40, detail: { x: 1 } } });
  });

  it('--diff compares with the numbers recorded in pipeline.lock at a git revision', async () => {
    p = project({ acc: 0.9, latency_ms: 50 });
    p.write('.gitignore', 'metrics/\n.pipeline/\n');
    await p.cli('run');
    git('init', '-q');
    git('add', '.');
    git('commit', '-q', '-m', 'first');
    p.write('scores.json', JSON.stringify({ acc: 0.925, latency_ms: 45 }));
    await p.cli('run');
    const r = await p.cli('metrics', '--diff');
    expect(r.stdout).toContain('score: compared with HEAD:pipeline.lock');
    expect(r.stdout).toMatch(/score\s+acc\s+0\.9\s+0\.925\s+\+0\.025/);
    expect(r.stdout).toMatch(/score\s+latency_ms\s+50\s+45\s+-5/);
  });
});
