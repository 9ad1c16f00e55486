import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Watcher, type WatchState } from '../../src/engine/watcher.ts';
import { waitFor } from '../helpers/project-rig.ts';

describe('Watcher state machine (in process, real files)', () => {
  let dir: string;
  let watcher: Watcher | undefined;
  afterEach(async () => {
    await watcher?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('with cancelRunning, a change aborts the running round and one new round follows', async () => {
    dir = mkdtempSync(join(tmpdir(), 'watcher-'));
    mkdirSync(join(dir, 'in'));
    const rounds: { changed: string[]; aborted: boolean }[] = [];
    const transitions: string[] = [];
    watcher = new Watcher({
      paths: [join(dir, 'in')],
      ignore: () => false,
      quietMs: 200,
      stabilityMs: 100,
      cancelRunning: true,
      onState: (from: WatchState, to: WatchState) => transitions.push(`${from}->${to}`),
      run: (signal, changed) => {
        const round = { changed, aborted: false };
        rounds.push(round);
        // The first round after a change runs until aborted; the others end at once.
        if (rounds.length !== 2) return Promise.resolve();
        return new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => {
            round.aborted = true;
            resolve();
          }),
        );
      },
    });
    await watcher.start();
    await waitFor(() => watcher!.currentState === 'watching');
    writeFileSync(join(dir, 'in/a.txt'), 'a');
    await waitFor(() => rounds.length === 2);
    writeFileSync(join(dir, 'in/b.txt'), 'b');
    await waitFor(() => rounds.length === 3 && watcher!.currentState === 'watching');
    expect(rounds.map((r) => r.aborted)).toEqual([false, true, false]);
    expect(rounds[1]!.changed).toEqual([join(dir, 'in/a.txt')]);
    expect(rounds[2]!.changed).toEqual([join(dir, 'in/b.txt')]);
    expect(transitions).toEqual([
      'watching->running',
      'running->watching',
      'watching->debouncing',
      'debouncing->running',
      'running->queued',
      'queued->debouncing',
      'debouncing->running',
      'running->watching',
    ]);
  });
});
