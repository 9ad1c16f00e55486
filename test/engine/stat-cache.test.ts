import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PathHasher } from '../../src/engine/path-hasher.ts';
import { StatCache } from '../../src/engine/stat-cache.ts';
import { TestProject } from '../helpers/project-rig.ts';

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A folder `data` of `n` small files in a temp root. */
function tree(n: number, name = (i: number) => `data/d${i % 10}/f${i}.txt`): string {
  const root = mkdtempSync(join(tmpdir(), 'stat-cache-'));
  made.push(root);
  for (let i = 0; i < n; i++) {
    const file = join(root, name(i));
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, `file ${i}`);
  }
  return root;
}

/** One command's worth of hashing: a fresh cache read from disk, saved after. */
async function hashOnce(root: string, rel = 'data'): Promise<{ hasher: PathHasher; cache: StatCache }> {
  const cache = new StatCache(join(root, '.pipeline'));
  const hasher = new PathHasher(root, cache);
  await hasher.hashOne(rel);
  cache.save();
  return { hasher, cache };
}

const logFile = (root: string): string => join(root, '.pipeline/stat-cache.bin');

describe('the stat cache stays the size of the tree', () => {
  it('renaming 500 files three times leaves it at 500 entries, and no file is read again', async () => {
    const root = tree(500, (i) => `data/f${i}.txt`);
    await hashOnce(root);
    const freshBytes = statSync(logFile(root)).size;
    for (let round = 1; round <= 3; round++) {
      for (let i = 0; i < 500; i++) renameSync(join(root, `data/f${i}${'.x'.repeat(round - 1)}.txt`), join(root, `data/f${i}${'.x'.repeat(round)}.txt`));
      await hashOnce(root);
    }
    expect(new StatCache(join(root, '.pipeline')).size()).toBe(500);
    // Dropped entries are dead records until the log is rewritten: it stays within a bound, not 4x.
    expect(statSync(logFile(root)).size).toBeLessThan(3.5 * freshBytes);
  });

  it('a run after one touched file appends one record instead of rewriting the table', async () => {
    const root = tree(3000);
    await hashOnce(root);
    const before = statSync(logFile(root));
    writeFileSync(join(root, 'data/d3/f3.txt'), 'changed');
    const { hasher, cache } = await hashOnce(root);
    expect(hasher.stats.filesRead).toBe(1);
    const after = statSync(logFile(root));
    expect(after.ino).toBe(before.ino); // appended in place, not replaced by a rewrite
    expect(cache.bytesWritten).toBeGreaterThan(0);
    expect(cache.bytesWritten).toBeLessThan(200);
    expect(after.size - before.size).toBe(cache.bytesWritten);
  });

  it('a record cut short by a crash is ignored: the entries before it still hold, and the next save repairs the log', async () => {
    const root = tree(50);
    const first = await hashOnce(root);
    const hash = await first.hasher.hashOne('data');
    writeFileSync(join(root, 'data/d0/f0.txt'), 'changed'); // one more record appended...
    await hashOnce(root);
    const size = statSync(logFile(root)).size;
    rmSync(join(root, '.pipeline/stat-cache-dirs.json')); // force the per-file table to be consulted
    appendFileSync(logFile(root), Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 1, 5])); // ...and a torn one after it
    writeFileSync(join(root, 'data/d0/f0.txt'), 'file 0');
    const { hasher } = await hashOnce(root);
    expect(hasher.stats.filesRead).toBe(1); // only the file edited since
    expect(await new PathHasher(root, new StatCache(join(root, '.pipeline'))).hashOne('data')).toBe(hash);
    expect(statSync(logFile(root)).size).toBeLessThan(size + 10); // rewritten without the torn bytes
    expect(new StatCache(join(root, '.pipeline')).size()).toBe(50);
  });

  it('takes over the text table of earlier versions (stat-cache.tsv): upgrading reads no file again', async () => {
    const root = tree(20);
    const lines: string[] = [];
    for (let i = 0; i < 20; i++) {
      const rel = `data/d${i % 10}/f${i}.txt`;
      const st = statSync(join(root, rel), { bigint: true });
      lines.push(`${rel}\t${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}\t${createHash('sha256').update(`file ${i}`).digest('hex')}\n`);
    }
    mkdirSync(join(root, '.pipeline'));
    writeFileSync(join(root, '.pipeline/stat-cache.tsv'), lines.join(''));
    const { hasher } = await hashOnce(root);
    expect(hasher.stats.filesRead).toBe(0);
    expect(hasher.stats.cacheHits).toBe(20);
    expect(existsSync(join(root, '.pipeline/stat-cache.tsv'))).toBe(false);
    expect(new StatCache(join(root, '.pipeline')).size()).toBe(20);
  });

  it('the find lister and the Node walk agree on every file and its stat key, so switching reads nothing', async () => {
    const root = tree(40);
    const viaFind = await hashOnce(root);
    process.env['BRICKFLOW_NO_FIND'] = '1';
    try {
      const { hasher } = await hashOnce(root);
      expect(hasher.stats.filesRead).toBe(0);
      expect(hasher.stats.cacheHits).toBe(40); // (the listing's order differs: Node sorts names, find does not)
      expect(await hasher.hashOne('data')).toBe(await viaFind.hasher.hashOne('data'));
    } finally {
      delete process.env['BRICKFLOW_NO_FIND'];
    }
  });
});

describe('a no-op run reads no file contents (README)', () => {
  it('a dep file rewritten with other bytes of the same size, its mtime put back, still counts as unchanged', async () => {
    // Proof by a change only a read could see: the stage stays fresh, so nothing was read.
    const p = TestProject.create({
      'pipeline.yaml': 'stages:\n  copy:\n    cmd: "cat data/a.txt data/b.txt > out.txt"\n    deps: [data]\n    outs: [out.txt]\n',
      'data/a.txt': 'aaaa\n',
      'data/b.txt': 'bbbb\n',
    });
    made.push(p.dir);
    const when = new Date('2024-01-02T03:04:05Z'); // whole seconds: utimes sets them exactly
    utimesSync(p.path('data/a.txt'), when, when);
    expect((await p.cli('run')).code).toBe(0);
    writeFileSync(p.path('data/a.txt'), 'AAAA\n');
    utimesSync(p.path('data/a.txt'), when, when);
    const again = await p.cli('run');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/copy: fresh, skipped/);
    expect(p.read('out.txt')).toBe('aaaa\nbbbb\n');
  });
});
