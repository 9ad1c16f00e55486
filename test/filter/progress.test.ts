import { describe, expect, it } from 'vitest';
import { Progress } from '../../src/ml/progress.ts';

/** A stream that records what is written, on a TTY or not. */
function stream(isTTY: boolean) {
  const chunks: string[] = [];
  const out = { isTTY, write: (s: string) => chunks.push(s) > 0 } as unknown as NodeJS.WriteStream;
  return { out, text: () => chunks.join(''), chunks };
}

describe('progress (filter, synth, augment-cache, evaluate)', () => {
  it('off a TTY prints one counted final line when the loop reaches its total, and finish() adds nothing', () => {
    const s = stream(false);
    const p = new Progress('filter: checking images', 5, s.out, 60_000);
    for (let i = 0; i < 5; i++) p.tick();
    expect(p.finish()).toBeGreaterThan(0);
    expect(s.chunks).toHaveLength(1);
    expect(s.text()).toMatch(/^filter: checking images: 5\/5 \(100%, [\d.]+\/s, [\d.]+ s\)\n$/);
  });

  it('off a TTY, finish() prints the final line of a loop that stopped short', () => {
    const s = stream(false);
    const p = new Progress('evaluate', 10, s.out, 60_000);
    p.tick(3);
    expect(s.text()).toBe('');
    p.finish();
    p.finish();
    expect(s.text()).toMatch(/^evaluate: 3\/10 \(30%, [\d.]+\/s, [\d.]+ s\)\n$/);
  });

  it('on a TTY draws a bar redrawn in place that ends with a newline', () => {
    const s = stream(true);
    const p = new Progress('augment-cache', 4, s.out);
    p.tick(4);
    expect(s.text()).toMatch(/^\r\[#{24}\] augment-cache: 4\/4 \(100%, [\d.]+\/s, [\d.]+ s\)\n$/);
  });

  it('counts an empty loop as done', () => {
    const s = stream(false);
    new Progress('synth', 0, s.out).finish();
    expect(s.text()).toMatch(/^synth: 0\/0 \(100%/);
  });
});
