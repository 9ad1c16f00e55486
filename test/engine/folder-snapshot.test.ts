import { closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mergedManifest, openFolderSnapshot, writeFolderSnapshot } from '../../src/engine/folder-snapshot.ts';

const dir = mkdtempSync(join(tmpdir(), 'folder-snapshot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hex = (n: number): string => n.toString(16).padStart(64, '0');
const text = (lines: Map<string, string>): string =>
  [...lines]
    .map(([p, h]) => `${p}\0${h}\n`)
    .sort()
    .join('');

describe('merging changes into a folder snapshot, block by block', () => {
  it('gives the manifest a full sort gives, wherever the block edges fall, odd names and long ones included', () => {
    const names = ['é', '\u{1F600}', '\uFF21', 'a\nb', 'a', 'a/b', 'a-b', 'x'.repeat(300)];
    const before = new Map<string, string>();
    for (let i = 0; i < 400; i++) before.set(`${names[i % names.length]}/f${(i * 7919) % 100003}`, hex(i));
    const file = join(dir, 'snap.bin');
    writeFolderSnapshot(file, 'data', Buffer.from('listing'), [Buffer.from(text(before))]);
    const paths = [...before.keys()];
    const changes: [string, string | null][] = [
      [paths[0]!, null],
      [paths[17]!, hex(9999)],
      [paths[399]!, null],
      ['\u{1F600}/new', hex(1)],
      ['\uFFFF', hex(2)],
      ['', hex(3)],
      ['x'.repeat(300) + '/zz', hex(4)],
    ];
    changes.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const after = new Map(before);
    for (const [p, h] of changes) {
      if (h === null) after.delete(p);
      else after.set(p, h);
    }
    for (const block of [1, 97, 500, 4096, 1 << 20]) {
      const snap = openFolderSnapshot(file, 'data')!;
      try {
        expect(snap.listing.toString()).toBe('listing');
        const parts: Buffer[] = [];
        for (const p of mergedManifest(snap, changes, block)) parts.push(Buffer.from(p)); // a part lasts until the next
        expect(Buffer.concat(parts).toString()).toBe(text(after));
      } finally {
        closeSync(snap.fd);
      }
    }
  });

  it('a file said to be gone that the manifest lacks, or another folder\'s snapshot, is no snapshot to merge into', () => {
    const file = join(dir, 'snap2.bin');
    writeFolderSnapshot(file, 'data', Buffer.from('listing'), [Buffer.from(`a\0${hex(1)}\n`)]);
    expect(openFolderSnapshot(file, 'other')).toBeUndefined();
    const snap = openFolderSnapshot(file, 'data')!;
    try {
      expect(() => [...mergedManifest(snap, [['b', null]])]).toThrow(/lacks b/);
    } finally {
      closeSync(snap.fd);
    }
  });
});
