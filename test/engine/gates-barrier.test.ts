import { afterEach, describe, expect, it } from 'vitest';
import { ancestors } from '../../src/engine/graph.ts';
import { openProject } from '../../src/engine/project.ts';
import { REPO_ROOT, stagesRan, TestProject } from '../helpers/project-rig.ts';

// `score` is a slow gated stage (like evaluate): it waits until `pack` (like export, not
// below the gate) has run, so with --jobs 2 the two run at once, then notes whether `ship`
// (like deploy: below score's verdict) already ran. The wait is bounded so a bug fails
// the test instead of hanging it.
const PIPELINE = `stages:
  prep:
    cmd: "cat input.txt > prep.txt"
    deps: [input.txt]
    outs: [prep.txt]
  score:
    cmd: "i=0; while [ ! -f packed.txt ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; [ -f shipped.txt ] && echo SHIPPED-BEFORE-VERDICT; mkdir -p metrics && cp scores.json metrics/score.json"
    deps: [prep.txt, scores.json]
    metrics: metrics/score.json
    gates: {acc: ">= 0.9"}
  pack:
    cmd: "cat prep.txt > packed.txt"
    deps: [prep.txt]
    outs: [packed.txt]
  ship:
    cmd: "cat packed.txt metrics/score.json > shipped.txt"
    deps: [packed.txt, metrics/score.json]
    outs: [shipped.txt]
`;

const GREEN = JSON.stringify({ acc: 0.95 });
const RED = JSON.stringify({ acc: 0.5 });

describe('gates are a barrier', () => {
  let p: TestProject;
  afterEach(() => p.cleanup());

  it('with --jobs 2 a fast stage below a slow gated stage waits for its verdict, and a red verdict stops it (exit 3)', async () => {
    p = TestProject.create({ 'pipeline.yaml': PIPELINE, 'input.txt': 'v1\n', 'scores.json': RED });
    const r = await p.cli('run', '--jobs', '2');
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).not.toContain('SHIPPED-BEFORE-VERDICT');
    expect(stagesRan(r.stdout).sort()).toEqual(['pack', 'prep', 'score']);
    expect(r.stdout).toMatch(/ship\s+not run/);
    expect(p.exists('shipped.txt')).toBe(false);

    // Green: ship runs, after the verdict.
    p.write('scores.json', GREEN);
    const green = await p.cli('run', '--jobs', '2');
    expect(green.code, green.stderr).toBe(0);
    expect(green.stdout).not.toContain('SHIPPED-BEFORE-VERDICT');
    expect(stagesRan(green.stdout)).toContain('ship');
  });

  it('a stage below a red gate refuses to run even alone (--only), exit 3; a stage beside it may run', async () => {
    p = TestProject.create({ 'pipeline.yaml': PIPELINE, 'input.txt': 'v1\n', 'scores.json': GREEN });
    expect((await p.cli('run', '--jobs', '2')).code).toBe(0);
    p.write('scores.json', RED);
    expect((await p.cli('run', 'score')).code).toBe(3);
    const shipped = p.read('shipped.txt');

    const only = await p.cli('run', '--only', 'ship');
    expect(only.code).toBe(3);
    expect(only.stdout).toMatch(/score\s+acc\s+0\.5\s+>= 0\.9\s+FAIL/);
    expect(stagesRan(only.stdout)).toEqual([]);
    expect(p.read('shipped.txt')).toBe(shipped);

    // Like `run export` of a red model: pack is not below score's verdict.
    p.write('input.txt', 'v2\n');
    const pack = await p.cli('run', 'pack');
    expect(pack.code, pack.stderr).toBe(0);
    expect(stagesRan(pack.stdout)).toEqual(['prep', 'pack']);
  });

  it('--ignore-gates ships a red model loudly, records it in pipeline.lock, and status shows it', async () => {
    p = TestProject.create({ 'pipeline.yaml': PIPELINE, 'input.txt': 'v1\n', 'scores.json': RED });
    const r = await p.cli('run', 'ship', '--jobs', '2', '--ignore-gates');
    expect(r.code).toBe(3); // the verdict stays red
    expect(stagesRan(r.stdout)).toContain('ship');
    expect(r.stderr).toContain('! ship: RUNNING BELOW FAILED GATES (--ignore-gates; recorded in pipeline.lock): score acc 0.5 (>= 0.9)');
    const lock = JSON.parse(p.read('pipeline.lock')) as { stages: Record<string, { ignoredGates?: unknown }> };
    expect(lock.stages['ship']?.ignoredGates).toEqual([{ stage: 'score', metric: 'acc', target: '>= 0.9', value: 0.5 }]);
    expect(lock.stages['score']?.ignoredGates).toBeUndefined();

    const status = await p.cli('status');
    expect(status.stdout).toMatch(/ship\s+fresh; RAN BELOW FAILED GATES \(--ignore-gates\): score acc 0\.5 \(>= 0\.9\)/);

    // A green run of ship clears the record.
    p.write('scores.json', GREEN);
    expect((await p.cli('run', '--jobs', '2')).code).toBe(0);
    expect(JSON.parse(p.read('pipeline.lock')).stages.ship.ignoredGates).toBeUndefined();
  });

  it("the project's deploy stage is downstream of evaluate's verdict", () => {
    const project = openProject(`${REPO_ROOT}pipeline.yaml`);
    if (!project.ok) throw new Error(project.error.map((d) => d.message).join('\n'));
    expect([...ancestors(project.value.graph, 'deploy')]).toContain('evaluate');
  });
});
