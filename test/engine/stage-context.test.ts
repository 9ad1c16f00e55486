import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readStageContext } from '../../src/engine/stage-context.ts';
import { REPO_ROOT } from '../helpers/project-rig.ts';

/** The tsx loader of this repo, so a script in a temp folder runs TypeScript. */
const TSX = import.meta.resolve('tsx');

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

describe('a stage finds its deps and outs by role', () => {
  it('from the environment the engine passes: roles from pipeline.yaml, gates, and the default role without role variables', () => {
    const ctx = readStageContext('evaluate', {
      PIPELINE_ROOT: '/proj',
      PIPELINE_PARAMS: '{}',
      PIPELINE_DEPS: '["artifacts/model","artifacts/metrics/train.json"]',
      PIPELINE_DEP_ROLES: '{"model":"artifacts/model","train-metrics":"artifacts/metrics/train.json"}',
      PIPELINE_OUTS: '["artifacts/reports/evaluate"]',
      PIPELINE_GATES: '[{"metric":"part_top1","op":">=","target":0.9,"text":">= 0.90"}]',
    });
    expect(ctx.dep('model')).toBe('/proj/artifacts/model');
    expect(ctx.dep('train-metrics')).toBe('/proj/artifacts/metrics/train.json');
    expect(ctx.optionalDep('dataset')).toBeUndefined();
    // No PIPELINE_OUT_ROLES: the out answers to its file name.
    expect(ctx.out('evaluate')).toBe('/proj/artifacts/reports/evaluate');
    expect(ctx.gates).toEqual([{ metric: 'part_top1', op: '>=', target: 0.9, text: '>= 0.90' }]);
  });

  it('started by hand: roles, gates and params (schema defaults filled in) come from the same loaders as the engine', () => {
    const root = mkdtempSync(join(tmpdir(), 'ctx-'));
    mkdirSync(join(root, 'config'));
    mkdirSync(join(root, 'schemas'));
    writeFileSync(join(root, 'config/t.yaml'), 'model: {input_size: 64}\n');
    writeFileSync(join(root, 'schemas/t.schema.json'), JSON.stringify({
      type: 'object',
      properties: { model: { type: 'object', properties: { input_size: { type: 'integer' }, width: { type: 'number', default: 1.5 } } } },
    }));
    writeFileSync(
      join(root, 'pipeline.yaml'),
      'stages:\n  s:\n    cmd: "true"\n    deps: [{path: artifacts/metrics/train.json, role: history}, data/x]\n    params: {config/t.yaml: [model]}\n    outs: [{path: o, persist: true, role: state}]\n    metrics: m.json\n    gates: {acc: ">= 0.5"}\n',
    );
    const ctx = readStageContext('s', { PIPELINE_ROOT: root });
    expect(ctx.dep('history')).toBe(join(root, 'artifacts/metrics/train.json'));
    expect(ctx.dep('x')).toBe(join(root, 'data/x'));
    expect(ctx.out('state')).toBe(join(root, 'o'));
    expect(ctx.params).toEqual({ 'config/t.yaml': { model: { input_size: 64, width: 1.5 } } });
    expect(ctx.gates).toEqual([{ metric: 'acc', op: '>=', target: 0.5, text: '>= 0.5' }]);
    rmSync(root, { recursive: true, force: true });
  });

  it('started by hand with a bad params file, the stage stops with exit 2 at file:line:col', () => {
    const root = mkdtempSync(join(tmpdir(), 'ctx-'));
    mkdirSync(join(root, 'config'));
    writeFileSync(join(root, 'config/t.yaml'), 'model:\n\tsize: 3\n');
    writeFileSync(join(root, 'pipeline.yaml'), 'stages:\n  s:\n    run: s.ts\n    params: {config/t.yaml: [model]}\n');
    writeFileSync(join(root, 's.ts'), `import { readStageContext } from ${JSON.stringify(join(REPO_ROOT, 'src/engine/stage-context.ts'))};\nreadStageContext('s');\nconsole.log('started');\n`);
    const r = spawnSync(process.execPath, ['--import', TSX, 's.ts'], { cwd: root, encoding: 'utf8' });
    rmSync(root, { recursive: true, force: true });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('s: config/t.yaml:2:1: error: YAML syntax: Tabs are not allowed as indentation');
    expect(r.stdout).not.toContain('started');
  });

  it('a stage missing a role it needs stops with exit 2 naming the roles it has', () => {
    const root = mkdtempSync(join(tmpdir(), 'ctx-'));
    writeFileSync(join(root, 's.ts'), `import { readStageContext } from ${JSON.stringify(join(REPO_ROOT, 'src/engine/stage-context.ts'))};\nreadStageContext('s').dep('model');\n`);
    const env = { ...process.env, PIPELINE_ROOT: root, PIPELINE_PARAMS: '{}', PIPELINE_DEPS: '["artifacts/dataset"]' };
    const r = spawnSync(process.execPath, ['--import', TSX, 's.ts'], { cwd: root, encoding: 'utf8', env });
    rmSync(root, { recursive: true, force: true });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('stage "s" needs a dep with the role "model" in pipeline.yaml (its deps: dataset (artifacts/dataset))');
  });
});
