import { afterEach, describe, expect, it } from 'vitest';
import { stagesRan, TestProject } from '../helpers/project-rig.ts';

const CHAIN = `stages:
  a:
    cmd: "echo a > a.txt"
    outs: [a.txt]
  b:
    cmd: "cat a.txt > b.txt && echo b >> b.txt"
    deps: [a.txt]
    outs: [b.txt]
  c:
    cmd: "cat b.txt > c.txt"
    deps: [b.txt]
    outs: [c.txt]
`;

describe('choosing what runs', () => {
  let p: TestProject;
  afterEach(() => p.cleanup());

  it('--until S (or run S) runs S and what it depends on, nothing downstream', async () => {
    p = TestProject.create({ 'pipeline.yaml': CHAIN });
    const r = await p.cli('run', '--until', 'b');
    expect(r.code).toBe(0);
    expect(stagesRan(r.stdout)).toEqual(['a', 'b']);
    expect(p.exists('c.txt')).toBe(false);
    const again = await p.cli('run', 'c');
    expect(stagesRan(again.stdout)).toEqual(['c']);
  });

  it('--only S refuses with the missing deps named, then runs S alone once they exist', async () => {
    p = TestProject.create({ 'pipeline.yaml': CHAIN });
    const refused = await p.cli('run', '--only', 'b');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--only b: its deps are missing:\n  a.txt (made by stage "a")');
    p.write('a.txt', 'by hand\n');
    const r = await p.cli('run', '--only', 'b');
    expect(r.code).toBe(0);
    expect(stagesRan(r.stdout)).toEqual(['b']);
    expect(p.read('b.txt')).toBe('by hand\nb\n');
  });

  it('--force reruns fresh selected stages; unchanged outs leave downstream fresh', async () => {
    p = TestProject.create({ 'pipeline.yaml': CHAIN });
    await p.cli('run');
    const r = await p.cli('run', '--force', '--until', 'a');
    expect(r.stdout).toContain('> a: running (forced (--force))');
    expect(stagesRan(r.stdout)).toEqual(['a']);
    expect((await p.cli('status')).stdout).toMatch(/b\s+fresh\nc\s+fresh/);
  });

  it('--dry-run says what would run and why, and runs nothing', async () => {
    p = TestProject.create({ 'pipeline.yaml': CHAIN });
    const r = await p.cli('run', '--dry-run');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('would run    a: never run\nwould run    b: never run\nwould run    c: never run\n');
    expect(p.exists('a.txt') || p.exists('pipeline.lock')).toBe(false);
  });

  it('--jobs 2 runs independent stages at the same time', async () => {
    // Each stage waits (up to 10 s) for the other to have started: run one after the
    // other, the first would give up and fail.
    const waitFor = (me: string, other: string): string =>
      `touch ${me}.started; i=0; while [ ! -f ${other}.started ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; test -f ${other}.started && echo ok > ${me}.txt`;
    p = TestProject.create({
      'pipeline.yaml': `stages:\n  x:\n    cmd: "${waitFor('x', 'y')}"\n    outs: [x.txt]\n  y:\n    cmd: "${waitFor('y', 'x')}"\n    outs: [y.txt]\n`,
    });
    const r = await p.cli('run', '--jobs', '2');
    expect(r.code, r.stderr).toBe(0);
    expect(p.read('x.txt') + p.read('y.txt')).toBe('ok\nok\n');
  });

  it('dag prints each stage with what it waits for, or a Mermaid flowchart', async () => {
    p = TestProject.create({ 'pipeline.yaml': CHAIN });
    expect((await p.cli('dag')).stdout).toBe('a\nb  <- a\nc  <- b\n');
    expect((await p.cli('dag', '--mermaid')).stdout).toBe('flowchart TD\n  a["a"]\n  b["b"]\n  c["c"]\n  a --> b\n  b --> c\n');
  });
});
