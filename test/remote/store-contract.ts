// The behaviour every run-cache remote owes its readers, run against each real server.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { ObjectStore, RemoteSpec } from '../../src/engine/remote/object-store.ts';

const tsx = import.meta.resolve('tsx');
const putChild = new URL('./put-child.ts', import.meta.url).pathname;

export interface StoreUnderTest {
  spec(): RemoteSpec;
  open(spec: RemoteSpec): Promise<ObjectStore>;
  /** The folder where the server keeps its files (to watch a temporary upload appear). */
  serverDir(): string;
}

/** Registers the shared cases; call inside a describe whose beforeAll starts the server. */
export function storeContract(s: StoreUnderTest): void {
  const local = mkdtempSync(join(tmpdir(), 'brickflow-store-test-'));
  afterAll(() => rmSync(local, { recursive: true, force: true }));

  it('puts files and bytes, says which keys exist (many in one folder too), and gets them back byte for byte', async () => {
    const store = await s.open(s.spec());
    try {
      const file = join(local, 'blob');
      const data = randomBytes(300_000);
      writeFileSync(file, data);
      await store.putFile('objects/ab/blob1', file);
      await store.putBytes('entries/e1.json', new TextEncoder().encode('{"a":1}'));
      const many = Array.from({ length: 20 }, (_, i) => `objects/cd/k${i}`);
      for (const key of many.slice(0, 10)) await store.putBytes(key, new Uint8Array([1, 2, 3]));

      const present = await store.has(['objects/ab/blob1', 'entries/e1.json', 'objects/ab/nope', ...many]);
      expect([...present].sort()).toEqual(['entries/e1.json', 'objects/ab/blob1', ...many.slice(0, 10)].sort());

      const back = join(local, 'back');
      expect(await store.getFile('objects/ab/blob1', back)).toBe(true);
      expect(readFileSync(back).equals(data)).toBe(true);
      expect(new TextDecoder().decode((await store.getBytes('entries/e1.json'))!)).toBe('{"a":1}');
      // Putting an existing key again is harmless.
      await store.putFile('objects/ab/blob1', file);
      expect(await store.has(['objects/ab/blob1'])).toEqual(new Set(['objects/ab/blob1']));
    } finally {
      await store.close();
    }
  });

  it('a missing key: getFile is false and writes nothing, getBytes is null', async () => {
    const store = await s.open(s.spec());
    try {
      const target = join(local, 'missing');
      expect(await store.getFile('objects/zz/missing', target)).toBe(false);
      expect(existsSync(target)).toBe(false);
      expect(await store.getBytes('entries/missing.json')).toBeNull();
      expect(await store.has(['objects/zz/missing'])).toEqual(new Set());
    } finally {
      await store.close();
    }
  });

  it('lists the keys under a prefix and deletes them (missing ones are no error)', async () => {
    const store = await s.open(s.spec());
    try {
      await store.putBytes('gc/a.json', new Uint8Array([1]));
      await store.putBytes('gc/sub/b.json', new Uint8Array([2]));
      await store.putBytes('other/c.json', new Uint8Array([3]));
      expect(await store.list('gc/')).toEqual(['gc/a.json', 'gc/sub/b.json']);
      await store.delete(['gc/a.json', 'gc/never-there.json']);
      expect(await store.list('gc/')).toEqual(['gc/sub/b.json']);
      expect(await store.has(['other/c.json', 'gc/a.json'])).toEqual(new Set(['other/c.json']));
    } finally {
      await store.close();
    }
  });

  it('a failed put (the local file vanished) leaves nothing under the key', async () => {
    const store = await s.open(s.spec());
    try {
      await expect(store.putFile('objects/ff/gone', join(local, 'does-not-exist'))).rejects.toThrow();
      expect(await store.has(['objects/ff/gone'])).toEqual(new Set());
    } finally {
      await store.close();
    }
  });

  it('a put killed with -9 mid-upload leaves nothing under the real key, and listings hide its temporary upload', async () => {
    const file = join(local, 'big');
    const data = randomBytes(48 * 1024 * 1024);
    writeFileSync(file, data);
    const child = spawn(process.execPath, ['--import', tsx, putChild, JSON.stringify(s.spec()), 'objects/kk/big', file], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((r) => child.once('exit', r));
    // Kill it once its temporary upload has started to appear on the server.
    for (let i = 0; i < 600 && !hasPart(s.serverDir()) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    expect(hasPart(s.serverDir())).toBe(true);
    child.kill('SIGKILL');
    await exited;

    const store = await s.open(s.spec());
    try {
      // The rename/copy happens only after the whole upload: either nothing, or all of it.
      const got = await store.getBytes('objects/kk/big');
      if (got !== null) expect(Buffer.from(got).equals(data)).toBe(true);
      expect(got).toBeNull();
      expect((await store.list('objects/kk/')).filter((k) => k.includes('.part-'))).toEqual([]);
    } finally {
      await store.close();
    }
  });
}

function hasPart(dir: string): boolean {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).some((name) => name.includes('.part-'));
}
