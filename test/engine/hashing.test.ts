import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { codeFiles } from '../../src/engine/code-deps.ts';
import { PathHasher } from '../../src/engine/path-hasher.ts';
import { StatCache } from '../../src/engine/stat-cache.ts';

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'hash-'));
  made.push(root);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return root;
}

describe('content hashing with the stat cache', () => {
  it('a second pass over unchanged files reads none of them, even in a new process (cache on disk)', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 300; i++) files[`data/d${i % 7}/f${i}.txt`] = `file ${i}`;
    const root = tree(files);
    const cache = new StatCache(join(root, '.pipeline'));
    const first = new PathHasher(root, cache);
    const h1 = await first.hashOne('data');
    expect(first.stats.filesRead).toBe(300);
    cache.save();
    const b = new PathHasher(root, new StatCache(join(root, '.pipeline')));
    expect(await b.hashOne('data')).toBe(h1);
    expect(b.stats.filesRead).toBe(0);
  });

  it('a folder hash changes when a file changes or is renamed, and only changed files are read', async () => {
    const root = tree({ 'd/a.txt': 'a', 'd/b.txt': 'b', 'd/sub/c.txt': 'c' });
    const cache = new StatCache(join(root, '.pipeline'));
    const h0 = await new PathHasher(root, cache).hashOne('d');
    writeFileSync(join(root, 'd/sub/c.txt'), 'C');
    const hasher = new PathHasher(root, cache);
    const h1 = await hasher.hashOne('d');
    expect(h1).not.toBe(h0);
    expect(hasher.stats.filesRead).toBe(1);
    renameSync(join(root, 'd/a.txt'), join(root, 'd/z.txt'));
    expect(await new PathHasher(root, cache).hashOne('d')).not.toBe(h1);
  });

  it('a big folder read on worker threads hashes to sha256 of its sorted path/hash manifest, files over the read buffer and empty ones included', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 2100; i++) files[`big/d${i % 3}/f${i}.txt`] = `content ${i}`;
    files['big/empty.txt'] = '';
    files['big/large.bin'] = 'x'.repeat(3 * (1 << 20) + 17); // three 1 MiB reads and a bit
    const root = tree(files);
    const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
    const manifest = Object.keys(files)
      .map((rel) => `${rel.slice('big/'.length)}\0${sha(readFileSync(join(root, rel)))}\n`)
      .sort()
      .join('');
    const cache = new StatCache(join(root, '.pipeline'));
    const cold = new PathHasher(root, cache);
    expect(await cold.hashOne('big')).toBe(sha(manifest));
    expect(cold.stats.filesRead).toBe(2102);
    // every file edited: the changed-files pass (hash only, no fstat) agrees with the cold one
    for (const rel of Object.keys(files)) writeFileSync(join(root, rel), `${files[rel]}!`);
    const edited = Object.keys(files)
      .map((rel) => `${rel.slice('big/'.length)}\0${sha(`${files[rel]}!`)}\n`)
      .sort()
      .join('');
    const warm = new PathHasher(root, cache);
    expect(await warm.hashOne('big')).toBe(sha(edited));
    expect(warm.stats.filesRead).toBe(2102);
  });

  it('a missing path hashes to null', async () => {
    const root = tree({});
    expect(await new PathHasher(root, new StatCache(join(root, '.pipeline'))).hashOne('nope')).toBeNull();
  });
});

describe('code files of a run: entry point', () => {
  it('follows relative imports, re-exports and dynamic imports transitively, not packages', () => {
    const root = tree({
      'stages/train.ts': "import { a } from '../src/a.ts';\nimport yaml from 'yaml';\nconst m = await import('../src/lazy.js');\n",
      'src/a.ts': "export * from './b.ts';\nexport const a = 1;\n",
      'src/b.ts': 'export const b = 2;\n',
      'src/lazy.ts': "import './side-effect';\n",
      'src/side-effect.ts': '',
      'src/unused.ts': '',
    });
    expect(codeFiles(root, 'stages/train.ts')).toEqual(['src/a.ts', 'src/b.ts', 'src/lazy.ts', 'src/side-effect.ts', 'stages/train.ts']);
  });
});
