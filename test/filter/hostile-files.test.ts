import { execFileSync } from 'node:child_process';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStage, tempProject, writeFile, writeImage } from './project-rig.ts';

const PARAMS = {
  sources: [{ name: 'real', path: 'data/real', layout: 'part_color', use: 'split' }],
  split: { salt: 'test-salt', train: 0.7, val: 0.15, test: 0.15 },
  filter: { min_test_per_part: 0, min_val_per_part: 0 },
  capture_plan: { tiers: { B: { angles: 6, colors: 3 } } },
};

/** A capture folder with two good images and `hostile` planted by the test. */
async function project(hostile: (root: string) => void): Promise<string> {
  const root = tempProject('filter-hostile-');
  await writeImage(root, 'data/real/3001/4/a.png', 1);
  await writeImage(root, 'data/real/3001/4/b.png', 2);
  hostile(root);
  return root;
}

/** The filter stage in a child process, killed after 60 s: a hang fails this test, not the suite. */
function filter(root: string): { status: number | null; stdout: string; bad: unknown[] } {
  const r = runStage(root, 'filter', PARAMS, ['artifacts/dataset'], 60_000);
  expect(r.stderr).toBe('');
  const text = r.status === 0 ? readFileSync(join(root, 'artifacts/dataset/bad_files.jsonl'), 'utf8').trim() : '';
  return { status: r.status, stdout: r.stdout, bad: text === '' ? [] : text.split('\n').map((l) => JSON.parse(l) as unknown) };
}

describe('filter: hostile files in a data folder', () => {
  it('reports a FIFO by name (never opens it) and keeps the images', async () => {
    const root = await project((r) => execFileSync('mkfifo', [join(r, 'data/real/3001/4/pipe.png')]));
    const { status, stdout, bad } = filter(root);
    expect(status).toBe(0);
    expect(bad).toEqual([{ path: 'data/real/3001/4/pipe.png', reason: 'a FIFO (named pipe), not a regular file', kind: 'not-regular' }]);
    expect(stdout).toMatch(/filter: 2 images kept/);
  });

  it('reports a symlink loop by name', async () => {
    const root = await project((r) => {
      symlinkSync('loop-b.png', join(r, 'data/real/3001/4/loop-a.png'));
      symlinkSync('loop-a.png', join(r, 'data/real/3001/4/loop-b.png'));
    });
    const { status, bad } = filter(root);
    expect(status).toBe(0);
    expect(bad).toEqual([
      { path: 'data/real/3001/4/loop-a.png', reason: 'a symlink loop (too many levels of symbolic links)', kind: 'loop' },
      { path: 'data/real/3001/4/loop-b.png', reason: 'a symlink loop (too many levels of symbolic links)', kind: 'loop' },
    ]);
  });

  it('reports a folder that links back up (ln -s .. loop) instead of recursing into it, at every level', async () => {
    const root = await project((r) => {
      symlinkSync('..', join(r, 'data/real/3001/4/up'));
      symlinkSync('..', join(r, 'data/real/3001/up'));
      // a non-target part folder is counted, not read: its loop must not recurse either
      writeFile(r, 'data/real/9999x/4/c.png', 'x');
      symlinkSync('../..', join(r, 'data/real/9999x/4/up'));
    });
    const { status, bad } = filter(root);
    expect(status).toBe(0);
    expect(bad).toEqual([
      { path: 'data/real/3001/4/up', reason: expect.stringMatching(/^a folder loop: links back to .*data\/real\/3001, a folder it is inside$/), kind: 'loop' },
      { path: 'data/real/3001/up', reason: expect.stringMatching(/^a folder loop: links back to .*data\/real, a folder it is inside$/), kind: 'loop' },
      { path: 'data/real/9999x', reason: 'part folder "9999x" is not a target part (config/target_parts.json)', kind: 'not-target-part', files: 1 },
    ]);
  });

  it('counts dot-files (.DS_Store) it skips instead of dropping them silently', async () => {
    const root = await project((r) => {
      writeFile(r, 'data/real/3001/4/.DS_Store', 'junk');
      writeFile(r, 'data/real/.DS_Store', 'junk');
    });
    const { status, stdout, bad } = filter(root);
    expect(status).toBe(0);
    expect(bad).toEqual([]);
    expect(stdout).toMatch(/filter: skipped 2 hidden file\(s\) \(names starting with '\.', e\.g\. \.DS_Store\)/);
    const summary = JSON.parse(readFileSync(join(root, 'artifacts/dataset/summary.json'), 'utf8')) as { skipped: { hidden: number } };
    expect(summary.skipped.hidden).toBe(2);
  });
});
