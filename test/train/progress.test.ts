import { describe, expect, it } from 'vitest';
import { EpochProgress, formatSeconds } from '../../src/ml/train/progress.ts';

describe('epoch progress', () => {
  it('on a TTY redraws one bar line with loss, lr, images/s and ETA, ending with a newline', () => {
    let out = '';
    const p = new EpochProgress(2, 10, 4, { isTTY: true, write: (t) => { out += t; } });
    for (let s = 1; s <= 4; s++) p.update(s, 32, 1.5 - s * 0.1, 1e-3);
    expect(out.split('\r').filter(Boolean)).toHaveLength(4);
    expect(out).toMatch(/\[#{20}\] epoch 2\/10 step 4\/4 loss 1\.1000 lr 1\.00e-3 [\d.]+ img\/s ETA 0s/);
    expect(out.endsWith('\n')).toBe(true);
  });

  it('without a TTY prints counted lines only every few seconds, plus the last step', () => {
    const lines: string[] = [];
    const p = new EpochProgress(1, 3, 50, { isTTY: false, write: (t) => { lines.push(t); } }, 60_000);
    for (let s = 1; s <= 50; s++) p.update(s, 16, 2, 1e-4);
    expect(lines).toHaveLength(2); // the first step (nothing printed yet) and the last
    expect(lines[1]).toMatch(/^epoch 1\/3 step 50\/50 loss 2\.0000/);
    expect(lines.join('')).not.toContain('\r');
  });

  it('formats the ETA in minutes and seconds', () => {
    expect([formatSeconds(5.4), formatSeconds(125), formatSeconds(Infinity)]).toEqual(['5s', '2m05s', '?']);
  });
});
