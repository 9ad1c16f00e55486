import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readStageContext } from '../../src/engine/stage-context.ts';

describe('readStageContext', () => {
  it('reads name, params, deps, outs and metrics from the PIPELINE_* environment', () => {
    const ctx = readStageContext(undefined, {
      PIPELINE_STAGE: 'train',
      PIPELINE_ROOT: '/proj',
      PIPELINE_PARAMS: '{"config/t.yaml":{"model":{"size":3}}}',
      PIPELINE_DEPS: '["a","b"]',
      PIPELINE_OUTS: '["out"]',
      PIPELINE_METRICS: 'm.json',
      PIPELINE_STAGE_FINGERPRINT: 'f'.repeat(64),
      PIPELINE_FORCE: '1',
    });
    expect([ctx.fingerprint, ctx.force]).toEqual(['f'.repeat(64), true]);
    expect(ctx.stage).toBe('train');
    expect(ctx.params).toEqual({ 'config/t.yaml': { model: { size: 3 } } });
    expect(ctx.deps).toEqual(['a', 'b']);
    expect(ctx.outs).toEqual(['out']);
    expect(ctx.metrics).toBe('m.json');
    expect(ctx.abs('out')).toBe('/proj/out');
  });

  it('started by hand, reads the stage entry and only its listed (dotted) param keys', () => {
    const root = mkdtempSync(join(tmpdir(), 'ctx-'));
    mkdirSync(join(root, 'config'));
    writeFileSync(join(root, 'config/t.yaml'), 'model: {input_size: 64, width: 1}\ntraining: {epochs: 2}\nother: 1\n');
    writeFileSync(
      join(root, 'pipeline.yaml'),
      'stages:\n  aug:\n    cmd: "true"\n    deps: [d]\n    params: {config/t.yaml: [model.input_size, training]}\n    outs: [{path: o, persist: true}, p]\n',
    );
    const ctx = readStageContext('aug', { PIPELINE_ROOT: root });
    expect(ctx.params).toEqual({ 'config/t.yaml': { model: { input_size: 64 }, training: { epochs: 2 } } });
    expect(ctx.outs).toEqual(['o', 'p']);
    expect(ctx.deps).toEqual(['d']);
    expect(ctx.metrics).toBeUndefined();
    expect([ctx.fingerprint, ctx.force]).toEqual([undefined, false]); // nothing to resume against
    rmSync(root, { recursive: true, force: true });
  });
});
