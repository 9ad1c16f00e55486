import { describe, expect, it } from 'vitest';
import { resolveTrainingConfig } from '../../src/ml/train/training-config.ts';
import { params } from './train-rig.ts';

/** The rig's config with `loss.profiles` and the profile to resolve. */
function withLossProfiles(profile: string, profiles: object): unknown {
  const p = params()['config/training.yaml'];
  return { ...p, profile, model: { ...p.model, profiles: { [profile]: {} } }, training: { ...p.training, profiles: { [profile]: {} } }, loss: { ...p.loss, profiles } };
}

describe('config/training.yaml: loss settings per profile', () => {
  it('a profile overrides the loss weights it names and keeps the plan values of the rest', () => {
    const cpu = resolveTrainingConfig(withLossProfiles('cpu', { cpu: { color_weight: 1 }, gpu: {} }), 'config/training.yaml');
    expect(cpu.ok && cpu.config.loop.loss).toEqual({ labelSmoothing: 0.1, partWeight: 1, colorWeight: 1 });
    const gpu = resolveTrainingConfig(withLossProfiles('gpu', { cpu: { color_weight: 1 }, gpu: {} }), 'config/training.yaml');
    expect(gpu.ok && gpu.config.loop.loss.colorWeight).toBe(0.5);
  });

  it('an unknown key or a bad value under loss.profiles fails naming where it is', () => {
    const bad = resolveTrainingConfig(withLossProfiles('cpu', { cpu: { colour_weight: 1 } }), 'config/training.yaml');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.errors.join('\n')).toMatch(/unknown key "colour_weight" in loss\.profiles\.cpu/);
    const negative = resolveTrainingConfig(withLossProfiles('cpu', { cpu: { color_weight: -1 } }), 'config/training.yaml');
    expect(!negative.ok && negative.errors.join('\n')).toMatch(/loss\.profiles\.cpu\.color_weight: must be >= 0/);
  });
});
