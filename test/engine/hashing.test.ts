import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { codeFiles } from '../../src/engine/code-deps.ts';
import { PathHasher, type HashEvent } from '../../src/engine/path-hasher.ts';
import { StreamedFolderHash } from '../../src/engine/streamed-folder-hash.ts';
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

  it('a folder the cache knows nothing of is hashed on worker threads while it is listed: the same hash, and per-file entries the next pass uses', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 2500; i++) files[`big/d${i % 5}/sub${i % 2}/f${i}.txt`] = `content ${i}`;
    files['other/a.txt'] = 'a';
    const root = tree(files);
    const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
    const manifest = Object.keys(files)
      .filter((rel) => rel.startsWith('big/'))
      .map((rel) => `${rel.slice('big/'.length)}\0${sha(files[rel]!)}\n`)
      .sort()
      .join('');
    const cache = new StatCache(join(root, '.pipeline'));
    const events: HashEvent[] = [];
    const cold = new PathHasher(root, cache, (e) => events.push(e));
    expect(await cold.hashOne('big')).toBe(sha(manifest));
    expect(cold.stats.filesHashedWhileListed).toBe(2500);
    expect(cold.stats.filesRead).toBe(2500);
    // progress ends once, when every listed file is hashed
    const progress = events.filter((e) => e.type === 'hashing');
    expect(progress.at(-1)).toEqual({ type: 'hashing', done: 2500, total: 2500 });
    expect(progress.filter((e) => !('listing' in e) && e.done === e.total)).toHaveLength(1);
    // in the same process, before any save: the workers' entries answer lookups
    const st = statSync(join(root, 'big/d0/sub0/f0.txt'), { bigint: true });
    expect(cache.get('big/d0/sub0/f0.txt', `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`)).toBe(sha('content 0'));
    expect(cache.knowsNothingOf('big/d1')).toBe(false);
    expect(await cold.hashOne('other')).toBe(sha(`a.txt\0${sha('a')}\n`));
    cache.save();
    expect(new StatCache(join(root, '.pipeline')).size()).toBe(2501);
    // without the folder's digest and snapshot, the per-file table alone knows every file
    rmSync(join(root, '.pipeline/stat-cache-dirs.json'));
    rmSync(join(root, '.pipeline/stat-cache-folders'), { recursive: true });
    const warm = new PathHasher(root, new StatCache(join(root, '.pipeline')));
    expect(await warm.hashOne('big')).toBe(sha(manifest));
    expect(warm.stats.filesRead).toBe(0);
    expect(warm.stats.cacheHits).toBe(2500);
  });

  it('a file gone between listing and reading is an error line in the manifest, and never cached', async () => {
    const root = tree({ 'd/a.txt': 'a' });
    for (const [n, name] of [[3, 'small'], [2600, 'threaded']] as const) {
      const s = new StreamedFolderHash(root, 'd', undefined);
      const st = statSync(join(root, 'd/a.txt'));
      const records = [`f ${st.dev} ${st.ino} ${st.size} ${Math.floor(st.mtimeMs / 1000)}.0000000000 a.txt\0`];
      for (let i = 0; i < n; i++) records.push(`f 1 ${i} 5 1700000000.0000000000 gone${i}.txt\0`);
      s.feed(Buffer.from(records.join('')));
      try {
        const r = await s.finish();
        expect(r.files, name).toBe(n + 1);
        expect(r.errors, name).toHaveLength(n);
        expect(r.errors[0], name).toEqual(['gone0.txt', 'ENOENT']);
        expect(r.log.reduce((k, l) => k + l.records, 0), name).toBe(1);
        expect(r.manifest, name).toContain('gone1.txt\0error:ENOENT\n');
      } finally {
        await s.close();
      }
    }
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
