import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
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
    // force the per-file table to be consulted (not the folder's listing digest or snapshot)
    rmSync(join(root, '.pipeline/stat-cache-dirs.json'));
    rmSync(join(root, '.pipeline/stat-cache-folders'), { recursive: true });
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
      rmSync(join(root, '.pipeline/stat-cache-folders'), { recursive: true }); // the per-file table, not the snapshot
      const { hasher } = await hashOnce(root);
      expect(hasher.stats.filesRead).toBe(0);
      expect(hasher.stats.cacheHits).toBe(40); // (the listing's order differs: Node sorts names, find does not)
      expect(await hasher.hashOne('data')).toBe(await viaFind.hasher.hashOne('data'));
    } finally {
      delete process.env['BRICKFLOW_NO_FIND'];
    }
    // Back to find, through the folder's snapshot: every record moved, none changed.
    const back = await hashOnce(root);
    expect(back.hasher.stats.filesRead).toBe(0);
    expect(await back.hasher.hashOne('data')).toBe(await viaFind.hasher.hashOne('data'));
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

/** sha256 over the sorted `relative-path NUL sha256 LF` lines of every file under `root/rel`, computed here from scratch. */
function manifestOf(root: string, rel = 'data'): string {
  const lines: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(root, rel, dir), { withFileTypes: true })) {
      const path = dir === '' ? e.name : `${dir}/${e.name}`;
      if (e.isDirectory()) walk(path);
      else lines.push(`${path}\0${createHash('sha256').update(readFileSync(join(root, rel, path))).digest('hex')}\n`);
    }
  };
  walk('');
  return createHash('sha256').update(lines.sort().join('')).digest('hex');
}

/** The folder hash a fresh cache (nothing known) gives. */
async function fromScratch(root: string, rel = 'data'): Promise<string | null> {
  const fresh = mkdtempSync(join(tmpdir(), 'stat-cache-fresh-'));
  made.push(fresh);
  return new PathHasher(root, new StatCache(fresh)).hashOne(rel);
}

describe('one changed file under a big folder costs about that file, not the folder (issue 18)', () => {
  const changes: [string, (root: string) => void][] = [
    ['modified', (root) => writeFileSync(join(root, 'data/d3/f3.txt'), 'changed')],
    ['added', (root) => writeFileSync(join(root, 'data/d4/new.txt'), 'new')],
    ['removed', (root) => rmSync(join(root, 'data/d5/f5.txt'))],
    ['renamed', (root) => renameSync(join(root, 'data/d6/f6.txt'), join(root, 'data/d7/f6-moved.txt'))],
  ];
  for (const lister of ['find', 'the Node walk']) {
    for (const [what, change] of changes) {
      it(`one file ${what} (${lister}): the folder hash is the from-scratch one, and only the records that differ are parsed`, async () => {
        if (lister !== 'find') process.env['BRICKFLOW_NO_FIND'] = '1';
        try {
          const root = tree(3000);
          await hashOnce(root);
          change(root);
          const { hasher, cache } = await hashOnce(root);
          const hash = await hasher.hashOne('data'); // (the same instance: now a whole-path cache hit)
          expect(hash).toBe(manifestOf(root));
          expect(hash).toBe(await fromScratch(root));
          // A full re-derivation parses all 3,000 records and loads the per-file table.
          expect(hasher.stats.recordsParsed).toBeLessThanOrEqual(4); // the file's record(s) and its folders'
          expect(hasher.stats.filesRead).toBe(what === 'removed' ? 0 : 1);
          expect(cache.pathsIndexed).toBe(0);
          // The per-file table still learned the change: a later run without the snapshot reads nothing.
          rmSync(join(root, '.pipeline/stat-cache-dirs.json'));
          rmSync(join(root, '.pipeline/stat-cache-folders'), { recursive: true });
          const again = await hashOnce(root);
          expect(await again.hasher.hashOne('data')).toBe(hash);
          expect(again.hasher.stats.filesRead).toBe(0);
          expect(new StatCache(join(root, '.pipeline')).size()).toBe(what === 'added' ? 3001 : what === 'removed' ? 2999 : 3000);
        } finally {
          delete process.env['BRICKFLOW_NO_FIND'];
        }
      });
    }
  }

  it('a few changed files leave the folder\'s snapshot as it is: their hashes go to a small drift file beside it', async () => {
    const root = tree(3000);
    await hashOnce(root);
    const folders = join(root, '.pipeline/stat-cache-folders');
    const [snapshotName] = readdirSync(folders);
    const snapshot = join(folders, snapshotName!);
    const before = statSync(snapshot);
    writeFileSync(join(root, 'data/d3/f3.txt'), 'changed');
    const first = await hashOnce(root);
    expect(await first.hasher.hashOne('data')).toBe(await fromScratch(root));
    // The whole snapshot (listing + manifest, 141 MB at a million files) was rewritten for one file.
    expect(statSync(snapshot).ino).toBe(before.ino);
    expect(first.hasher.stats.snapshotBytesWritten).toBeLessThan(1000);
    // The next change reads only its own file: the first one's hash is in the drift.
    rmSync(join(root, 'data/d5/f5.txt'));
    writeFileSync(join(root, 'data/d4/new.txt'), 'new');
    const second = await hashOnce(root);
    expect(second.hasher.stats.filesRead).toBe(1);
    expect(await second.hasher.hashOne('data')).toBe(await fromScratch(root));
    expect(statSync(snapshot).ino).toBe(before.ino);
    expect(new StatCache(join(root, '.pipeline')).size()).toBe(3000);
    // A damaged drift only costs reading its files again, never a wrong hash.
    const [drift] = readdirSync(folders).filter((f) => f !== snapshotName);
    expect(drift).toBeDefined();
    writeFileSync(join(folders, drift!), readFileSync(join(folders, drift!)).subarray(0, 40));
    rmSync(join(root, '.pipeline/stat-cache.bin')); // and no per-file table to fall back on
    rmSync(join(root, '.pipeline/stat-cache-dirs.json'));
    const third = await hashOnce(root);
    expect(await third.hasher.hashOne('data')).toBe(await fromScratch(root));
    expect(third.hasher.stats.filesRead).toBe(2); // the two changed files, from the snapshot's point of view
  });

  it('once the drift outgrows a small share of the snapshot, the snapshot is rewritten and the drift dropped', async () => {
    const root = tree(3000);
    await hashOnce(root);
    const folders = join(root, '.pipeline/stat-cache-folders');
    const [snapshotName] = readdirSync(folders);
    const before = statSync(join(folders, snapshotName!));
    for (let i = 0; i < 1500; i++) writeFileSync(join(root, `data/d${i % 10}/f${i}.txt`), `changed ${i}`);
    const { hasher } = await hashOnce(root);
    expect(await hasher.hashOne('data')).toBe(await fromScratch(root));
    expect(readdirSync(folders)).toEqual([snapshotName]);
    expect(statSync(join(folders, snapshotName!)).ino).not.toBe(before.ino);
  });

  it('an unchanged folder beside an out not made yet reads no per-file table', async () => {
    const root = tree(300);
    await hashOnce(root);
    const cache = new StatCache(join(root, '.pipeline'));
    const hasher = new PathHasher(root, cache);
    const hashes = await hasher.hashMany(['data', 'out-not-made-yet']);
    expect(hashes.get('out-not-made-yet')).toBeNull();
    expect(hasher.stats.pathsUnchanged).toBe(1);
    expect(cache.pathsIndexed).toBe(0); // a missing path is no folder to stream: nothing to look up
  });

  it('a folder hash is byte-identical to earlier versions (pipeline.lock and run-cache entries stay valid), odd names included', async () => {
    // Pinned from the engine before folder snapshots: sorted by UTF-16 code units, as JS sorts.
    const root = tree(30, (i) => `data/d${i % 3}/f${i}.txt`);
    for (const n of ['data/é.txt', 'data/\u{1F600}.txt', 'data/\uFF21.txt', 'data/a\nb.txt', 'data/a.txt', 'data/a/b.txt', 'data/a-b.txt']) {
      mkdirSync(join(root, n, '..'), { recursive: true });
      writeFileSync(join(root, n), n);
    }
    const pinned = 'de7740d6972db305bb64bef699623855379d6df2a94e53f2366386aaaf9220e4';
    expect((await hashOnce(root)).hasher.stats.filesRead).toBe(37);
    expect(await fromScratch(root)).toBe(pinned);
    // Changes beside and between the odd names go through the snapshot and land in the same order.
    writeFileSync(join(root, 'data/\uFF21.txt'), 'other');
    writeFileSync(join(root, 'data/\u{1F601}.txt'), 'new');
    rmSync(join(root, 'data/a-b.txt'));
    const { hasher } = await hashOnce(root);
    expect(hasher.stats.recordsParsed).toBeLessThan(10);
    expect(await hasher.hashOne('data')).toBe(manifestOf(root));
    writeFileSync(join(root, 'data/\uFF21.txt'), 'data/\uFF21.txt');
    rmSync(join(root, 'data/\u{1F601}.txt'));
    writeFileSync(join(root, 'data/a-b.txt'), 'data/a-b.txt');
    expect(await (await hashOnce(root)).hasher.hashOne('data')).toBe(pinned);
  });

  it('appends made without reading the per-file table still let it be compacted: one save in each MiB reads it', async () => {
    const root = tree(50);
    await hashOnce(root);
    // Dead records (drops of paths never there) up to just below a MiB edge.
    const drops: Buffer[] = [];
    let size = statSync(logFile(root)).size;
    for (let i = 0; size + 300 < 1 << 20; i++) {
      const path = Buffer.from(`gone/${String(i).padStart(90, '0')}`);
      const body = Buffer.concat([Buffer.from([2]), Buffer.from([path.length & 255, path.length >> 8]), path]);
      const head = Buffer.alloc(8);
      head.writeUInt32LE(body.length, 0);
      head.writeUInt32LE(crc32(body), 4);
      drops.push(head, body);
      size += 8 + body.length;
    }
    appendFileSync(logFile(root), Buffer.concat(drops));
    writeFileSync(join(root, 'data/d1/f1.txt'), 'changed once');
    const first = await hashOnce(root);
    expect(first.cache.pathsIndexed).toBe(0); // appended unread
    for (const i of [1, 2, 3, 4]) writeFileSync(join(root, `data/d${i}/f${i}.txt`), 'changed again');
    const second = await hashOnce(root); // this append would cross the MiB: read, and compacted
    expect(second.cache.pathsIndexed).toBe(50);
    expect(statSync(logFile(root)).size).toBeLessThan(20_000);
    expect(await second.hasher.hashOne('data')).toBe(manifestOf(root));
  });

  it('hashed file by file (no snapshot), a folder still drops the entries of its files gone', async () => {
    const root = tree(100);
    await hashOnce(root);
    for (const i of [1, 2, 3]) rmSync(join(root, `data/d${i}/f${i}.txt`));
    rmSync(join(root, '.pipeline/stat-cache-folders'), { recursive: true });
    const { hasher } = await hashOnce(root);
    expect(hasher.stats.recordsParsed).toBe(97);
    expect(new StatCache(join(root, '.pipeline')).size()).toBe(97);
  });

  it('a torn or damaged folder snapshot only costs a full re-derivation, never a wrong hash', async () => {
    const root = tree(500);
    await hashOnce(root);
    const snapshots = readdirSync(join(root, '.pipeline/stat-cache-folders')).map((f) => join(root, '.pipeline/stat-cache-folders', f));
    expect(snapshots).toHaveLength(1);
    const whole = readFileSync(snapshots[0]!);
    for (const damage of [
      (b: Buffer) => b.subarray(0, Math.floor(b.length / 2)), // torn
      (b: Buffer) => Buffer.concat([b.subarray(0, b.length - 40), Buffer.from('0'.repeat(40))]), // a hash overwritten
      () => Buffer.alloc(0),
    ]) {
      writeFileSync(snapshots[0]!, damage(whole));
      writeFileSync(join(root, 'data/d1/f1.txt'), `changed ${Math.random()}`);
      const { hasher } = await hashOnce(root);
      expect(hasher.stats.recordsParsed).toBe(500);
      expect(await hasher.hashOne('data')).toBe(manifestOf(root));
    }
  });
});

describe('state of a folder no longer declared is removed (issue 18)', () => {
  it('after pipeline.yaml stops naming a folder, the next run drops its snapshot and its per-file entries', async () => {
    const project = TestProject.create({ 'pipeline.yaml': 'stages:\n  count:\n    cmd: "ls -R data/a data/b > count.txt"\n    deps: [data/a, data/b]\n    outs: [count.txt]\n' });
    made.push(project.dir);
    for (let i = 0; i < 50; i++) project.write(`data/a/f${i}.txt`, `a ${i}`);
    for (let i = 0; i < 30; i++) project.write(`data/b/f${i}.txt`, `b ${i}`);
    expect((await project.cli('run')).code).toBe(0);
    const folders = (): string[] => readdirSync(project.path('.pipeline/stat-cache-folders')).sort();
    expect(folders()).toHaveLength(2);
    const cacheSize = (): number => new StatCache(project.path('.pipeline')).size();
    expect(cacheSize()).toBe(80 + 1); // both folders' files and the out
    project.write('data/a/f0.txt', 'a changed');
    project.write('data/b/f0.txt', 'b changed');
    expect((await project.cli('run')).code).toBe(0);
    expect(folders()).toHaveLength(4); // each snapshot and its drift

    project.write('pipeline.yaml', 'stages:\n  count:\n    cmd: "ls -R data/b > count.txt"\n    deps: [data/b]\n    outs: [count.txt]\n');
    expect((await project.cli('run')).code).toBe(0);
    expect(folders()).toHaveLength(2); // data/b's snapshot and drift
    expect(cacheSize()).toBe(30 + 1);
    // data/b's state is kept: a no-op status writes none of it again
    const kept = statSync(project.path('.pipeline/stat-cache.bin'));
    expect((await project.cli('status')).code).toBe(0);
    expect(statSync(project.path('.pipeline/stat-cache.bin')).mtimeMs).toBe(kept.mtimeMs);
    expect(folders()).toHaveLength(2);
  });

  it('a folder folded into a declared parent keeps its per-file entries: the parent reads nothing again', async () => {
    const project = TestProject.create({ 'pipeline.yaml': 'stages:\n  count:\n    cmd: "ls -R data > count.txt"\n    deps: [data/a, data/b]\n    outs: [count.txt]\n' });
    made.push(project.dir);
    for (let i = 0; i < 40; i++) project.write(`data/${i % 2 ? 'a' : 'b'}/f${i}.txt`, `${i}`);
    expect((await project.cli('run')).code).toBe(0);
    project.write('pipeline.yaml', 'stages:\n  count:\n    cmd: "ls -R data > count.txt"\n    deps: [data]\n    outs: [count.txt]\n');
    expect((await project.cli('run')).code).toBe(0);
    expect(readdirSync(project.path('.pipeline/stat-cache-folders'))).toHaveLength(1); // data's, not data/a's or data/b's
    expect(new StatCache(project.path('.pipeline')).size()).toBe(40 + 1);
  });
});
