// The one temp-file-and-rename writer: a failed write keeps the old content and leaves no
// temp file behind, and every temp name it makes is one the sweepers recognise.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { atomicWrite, isTempName, replaceFile, replaceFileSync, tempPathBeside } from '../../src/engine/atomic-write.ts';

describe('atomic writes', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'brickflow-atomic-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('replaces a file and creates missing folders', async () => {
    const file = join(dir, 'a/b/c.txt');
    replaceFileSync(file, 'one');
    expect(readFileSync(file, 'utf8')).toBe('one');
    await replaceFile(file, async (tmp) => writeFileSync(tmp, 'two'));
    expect(readFileSync(file, 'utf8')).toBe('two');
    replaceFileSync(file, [Buffer.from('th'), Buffer.from('ree')]);
    expect(readFileSync(file, 'utf8')).toBe('three');
    expect(readdirSync(join(dir, 'a/b'))).toEqual(['c.txt']);
  });

  it('a fill that fails part-way keeps the old content and leaves no temp file', async () => {
    const file = join(dir, 'object');
    writeFileSync(file, 'good');
    const failing = async (tmp: string): Promise<void> => {
      writeFileSync(tmp, 'half');
      throw new Error('download broke off');
    };
    await expect(replaceFile(file, failing)).rejects.toThrow('download broke off');
    expect(() =>
      replaceFileSync(file, (function* () {
        yield Buffer.from('half');
        throw new Error('disk full');
      })()),
    ).toThrow('disk full');
    expect(readFileSync(file, 'utf8')).toBe('good');
    expect(readdirSync(dir)).toEqual(['object']);
  });

  it('a state file that cannot be written names it and says what to do', () => {
    writeFileSync(join(dir, 'blocker'), '');
    expect(() => atomicWrite(join(dir, 'blocker/pipeline.lock'), '{}')).toThrow(/blocker\/pipeline\.lock/);
    expect(readdirSync(dir)).toEqual(['blocker']);
  });

  it('temp names are recognised as temp, real names are not', () => {
    const tmp = tempPathBeside(join(dir, 'objects/ab/cdef'));
    expect(isTempName(tmp)).toBe(true);
    expect(tempPathBeside('x')).not.toBe(tempPathBeside('x'));
    for (const name of ['cdef', 'train-0123abcd.u8', 'notes.tmp', 'x.12-zz.tmp']) expect(isTempName(name), name).toBe(false);
  });
});
