import { describe, expect, it } from 'vitest';
import { effectiveMix, phaseAt, sampleEpoch, type CurriculumConfig } from '../../src/ml/train/curriculum.ts';
import { createRng } from '../../src/ml/random.ts';

const plan: CurriculumConfig = {
  enabled: true, planEpochs: 30, phases: [
    { fromEpoch: 0, toEpoch: 5, mix: { legacy: 0.6, b200c: 0.3, real: 0.1 } },
    { fromEpoch: 5, toEpoch: 15, mix: { legacy: 0.4, b200c: 0.3, real: 0.3 } },
    { fromEpoch: 15, toEpoch: 30, mix: { legacy: 0.2, b200c: 0.2, real: 0.6 } },
  ],
};

describe('curriculum', () => {
  it("scales the plan's 0-5 / 5-15 / 15-30 phases to the configured epoch count", () => {
    const at = (e: number, n: number) => plan.phases.indexOf(phaseAt(plan, e, n)!);
    expect(Array.from({ length: 30 }, (_, e) => at(e, 30)).join('')).toBe('0'.repeat(5) + '1'.repeat(10) + '2'.repeat(15));
    expect(Array.from({ length: 6 }, (_, e) => at(e, 6)).join('')).toBe('011222');
  });

  it('draws each source in the phase proportions', () => {
    const sources = [...Array(500).fill('legacy'), ...Array(300).fill('b200c'), ...Array(40).fill('real')] as string[];
    const idx = sampleEpoch(sources, plan.phases[2]!.mix, 1000, createRng(3));
    const count = (s: string) => Array.from(idx).filter((i) => sources[i] === s).length;
    expect([count('legacy'), count('b200c'), count('real')]).toEqual([200, 200, 600]);
    // A rare source is repeated to fill its share; every one of its images is used.
    expect(new Set(Array.from(idx).filter((i) => sources[i] === 'real')).size).toBe(40);
  });

  it('gives the share of a source the data lacks to the others in proportion', () => {
    expect(Object.fromEntries(effectiveMix({ legacy: 0.2, b200c: 0.2, real: 0.6 }, ['legacy', 'real']))).toEqual({ legacy: expect.closeTo(0.25, 12), real: expect.closeTo(0.75, 12) });
  });

  it('without a mix, an epoch is a shuffle of every sample once', () => {
    const idx = sampleEpoch(['a', 'b', 'c', 'd', 'e'], undefined, 5, createRng(1));
    expect(Array.from(idx).sort()).toEqual([0, 1, 2, 3, 4]);
  });
});
