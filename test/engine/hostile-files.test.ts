import { execFileSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { TestProject } from '../helpers/project-rig.ts';

const PIPELINE = `stages:
  count:
    cmd: "cat data/good/a.txt > count.txt"
    deps: [data]
    outs: [count.txt]
`;

const made: TestProject[] = [];
afterAll(() => made.forEach((p) => p.cleanup()));

/** A project whose dep folder holds a good file and `hostile`, planted by the test. */
function project(hostile: (p: TestProject) => void): TestProject {
  const p = TestProject.create({ 'pipeline.yaml': PIPELINE, 'data/good/a.txt': 'a\n', 'data/good/b.txt': 'b\n' });
  made.push(p);
  hostile(p);
  return p;
}

const HOSTILE: [string, (p: TestProject) => void, RegExp][] = [
  ['a FIFO', (p) => execFileSync('mkfifo', [p.path('data/good/pipe')]), /warning: skipped data\/good\/pipe: a FIFO/],
  [
    'a symlink loop',
    (p) => {
      symlinkSync('loop-b', p.path('data/loop-a'));
      symlinkSync('loop-a', p.path('data/loop-b'));
    },
    /warning: skipped 'data\/loop-a': Too many levels of symbolic links/,
  ],
  ['a folder loop (ln -s .. up)', (p) => symlinkSync('..', p.path('data/good/up')), /warning: skipped File system loop detected; 'data\/good\/up' is part of the same file system loop as 'data'/],
];

// Both listers: GNU find, and the Node walk used where find has no -printf.
describe.each([
  ['find', {}],
  ['the Node walk', { BRICKFLOW_NO_FIND: '1' }],
])('hostile files in a dep folder (lister: %s)', (_, env) => {
  it.each(HOSTILE)('%s is skipped with a named warning; status and run finish, and a second run is a no-op', async (_name, plant, warning) => {
    const p = project(plant);
    // Each command is killed after 60 s: a hang fails this test instead of hanging the suite.
    const status = await p.cliWithin(60_000, ['status'], env);
    expect(status.stderr).toMatch(warning);
    expect(status.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(status.code).toBe(0);
    const run = await p.cliWithin(60_000, ['run'], env);
    expect(run.stderr).toMatch(warning);
    expect(run.code).toBe(0);
    expect(p.read('count.txt')).toBe('a\n');
    const again = await p.cliWithin(60_000, ['run'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/count: fresh, skipped/);
  });
});
