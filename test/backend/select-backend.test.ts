import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import {
  BadBackendPreferenceError,
  BackendUnavailableError,
  selectBackend,
} from '../../src/ml/backend/select-backend.ts';

function collect(): { lines: string[]; log: (l: string) => void } {
  const lines: string[] = [];
  return { lines, log: (l) => lines.push(l) };
}

describe('selectBackend', () => {
  it('on this machine (no tfjs-node) picks wasm and says why the native backends were passed over', async () => {
    const { lines, log } = collect();
    const choice = await selectBackend('auto', { env: {}, log });
    expect(choice.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.attempts.map((a) => [a.candidate, a.outcome])).toEqual([
      ['@tensorflow/tfjs-node-gpu', 'unavailable'],
      ['@tensorflow/tfjs-node', 'unavailable'],
      ['@tensorflow/tfjs-backend-wasm', 'chosen'],
    ]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^backend: wasm via @tensorflow\/tfjs-backend-wasm, 1 thread\(s\) — best available; not available: @tensorflow\/tfjs-node-gpu/);
  });

  it('registers the training kernels when wasm is chosen, so a conv net can train', async () => {
    await selectBackend('wasm', { env: {}, log: null });
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    expect(tf.getKernel('DepthwiseConv2dNativeBackpropInput', 'wasm')).toBeDefined();
  });

  it('lets BRICKFLOW_BACKEND override the config', async () => {
    const { lines, log } = collect();
    const choice = await selectBackend('wasm', { env: { BRICKFLOW_BACKEND: 'cpu' }, log });
    expect(choice.backend).toBe('cpu');
    expect(choice.preferenceSource).toBe('env BRICKFLOW_BACKEND');
    expect(tf.getBackend()).toBe('cpu');
    expect(lines[0]).toContain('forced by env BRICKFLOW_BACKEND');
  });

  it('honours a backend forced in config', async () => {
    const choice = await selectBackend('cpu', { env: {}, log: null });
    expect(choice).toMatchObject({ backend: 'cpu', preference: 'cpu', preferenceSource: 'config' });
  });

  it('refuses to fall back silently when a forced backend is not installed', async () => {
    const err = await selectBackend('tensorflow', { env: {}, log: null }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toMatch(/backend 'tensorflow' was requested but cannot run here: @tensorflow\/tfjs-node-gpu: .*; @tensorflow\/tfjs-node: /);
  });

  it('names the bad value and the choices when BRICKFLOW_BACKEND is misspelt', async () => {
    const err = await selectBackend('auto', { env: { BRICKFLOW_BACKEND: 'wsam' }, log: null }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadBackendPreferenceError);
    expect((err as Error).message).toBe("env BRICKFLOW_BACKEND: 'wsam' is not a backend; use one of auto, tensorflow, wasm, cpu");
  });
});
