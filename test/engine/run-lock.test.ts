import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireRunLock } from '../../src/engine/run-lock.ts';

const RACER = new URL('./fixtures/lock-racer.ts', import.meta.url).pathname;

/** A racer process and a way to send it a line and await its next answer. */
interface Racer {
  child: ChildProcess;
  ask(line: string): Promise<string>;
}

function startRacer(): Promise<Racer> {
  const child = spawn(process.execPath, ['--import', 'tsx', RACER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const answers: string[] = [];
  const waiting: ((s: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    const w = waiting.shift();
    if (w) w(l);
    else answers.push(l);
  });
  const next = (): Promise<string> => new Promise((r) => (answers.length > 0 ? r(answers.shift()!) : waiting.push(r)));
  const racer: Racer = {
    child,
    ask: (line) => {
      child.stdin!.write(`${line}\n`);
      return next();
    },
  };
  return next().then(() => racer);
}

describe('the run lock', () => {
  let dir: string;
  let racers: Racer[];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'brickflow-lock-'));
    racers = await Promise.all(Array.from({ length: 6 }, startRacer));
  }, 120_000);
  afterAll(() => {
    for (const r of racers) r.child.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  /** 20 rounds of 6 processes racing for `file`, set up by `prepare` before each round. */
  async function race(file: string, prepare: () => void): Promise<number[]> {
    const winners: number[] = [];
    for (let round = 0; round < 20; round++) {
      prepare();
      const answers = await Promise.all(racers.map((r) => r.ask(`try ${file}`)));
      winners.push(answers.filter((a) => a === 'won').length);
      await Promise.all(racers.map((r) => r.ask('release')));
      expect(existsSync(file)).toBe(false);
    }
    return winners;
  }

  it('six processes racing for a free lock: exactly one wins every round', async () => {
    const file = join(dir, 'fresh', 'run.lock');
    expect(await race(file, () => rmSync(file, { force: true }))).toEqual(Array(20).fill(1));
  }, 120_000);

  it('six processes racing for a lock left by a dead run: exactly one wins every round', async () => {
    const file = join(dir, 'stale', 'run.lock');
    const staleLocks = ['999999999 some-boot:12345\n', '1\n', `${process.pid} another-boot:1\n`, ''];
    mkdirSync(join(dir, 'stale'));
    let i = 0;
    const winners = await race(file, () => writeFileSync(file, staleLocks[i++ % staleLocks.length]!));
    expect(winners).toEqual(Array(20).fill(1));
  }, 120_000);

  it('a lock naming a live process is held; "echo 1 > run.lock" (a pid reused by a stranger) is not', () => {
    const file = join(dir, 'held', 'run.lock');
    const first = acquireRunLock(file);
    expect(first.ok).toBe(true);
    const second = acquireRunLock(file);
    expect(second).toEqual({ ok: false, holderPid: process.pid, file });
    if (first.ok) first.release();

    writeFileSync(file, '1\n');
    const taken = acquireRunLock(file);
    expect(taken.ok).toBe(true);
    if (taken.ok) taken.release();
  });

  it('release leaves a lock that is no longer ours in place', () => {
    const file = join(dir, 'own', 'run.lock');
    const mine = acquireRunLock(file);
    expect(mine.ok).toBe(true);
    writeFileSync(file, '999999999 some-boot:1\n'); // as if another run had taken it over
    if (mine.ok) mine.release();
    expect(readFileSync(file, 'utf8')).toBe('999999999 some-boot:1\n');
  });
});
