import { afterEach, describe, expect, it } from 'vitest';
import { inputsFingerprint } from '../../src/engine/fingerprint.ts';
import { readLock } from '../../src/engine/lock-file.ts';
import { TestProject } from '../helpers/project-rig.ts';

describe('how a stage is run', () => {
  let p: TestProject;
  afterEach(() => p.cleanup());

  it('gets PIPELINE_* in its environment, runs in the project root, and its output is prefixed and logged', async () => {
    p = TestProject.create({
      'pipeline.yaml': `stages:
  envdump:
    cmd: "mkdir -p out && env | grep ^PIPELINE_ | sort > out/env.txt && pwd > out/cwd.txt && echo to-out && echo to-err >&2"
    deps: [cfg.yaml]
    params: {cfg.yaml: [model.size]}
    outs: [out]
    metrics: m.json
`,
      'cfg.yaml': 'model: {size: 7, other: 1}\n',
    });
    // The stage must write its metrics file too, or it fails with "did not write".
    p.write('pipeline.yaml', p.read('pipeline.yaml').replace('echo to-out', 'echo {} > m.json && echo to-out'));
    const r = await p.cli('run', '-f', 'pipeline.yaml');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('[envdump] to-out\n');
    expect(r.stderr).toContain('[envdump] to-err\n');
    const env = Object.fromEntries(p.read('out/env.txt').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(env).toEqual({
      PIPELINE_DEPS: '["cfg.yaml"]',
      PIPELINE_DEP_ROLES: '{"cfg":"cfg.yaml"}',
      PIPELINE_GATES: '[]',
      PIPELINE_METRICS: 'm.json',
      PIPELINE_OUTS: '["out"]',
      PIPELINE_OUT_ROLES: '{"out":"out"}',
      PIPELINE_PARAMS: '{"cfg.yaml":{"model":{"size":7}}}',
      PIPELINE_ROOT: p.dir,
      PIPELINE_STAGE: 'envdump',
      PIPELINE_STAGE_FINGERPRINT: expect.stringMatching(/^[0-9a-f]{64}$/),
      PIPELINE_CODE_FINGERPRINT: expect.stringMatching(/^[0-9a-f]{64}$/),
      PIPELINE_FORCE: '0',
    });
    expect(p.read('out/cwd.txt').trim()).toBe(p.dir);
    expect(p.read('.pipeline/logs/envdump.log')).toBe('to-out\nto-err\n');
  });

  it('a stage that exits 0 without writing a declared out fails', async () => {
    p = TestProject.create({ 'pipeline.yaml': 'stages:\n  lazy:\n    cmd: "true"\n    outs: [never.txt]\n' });
    const r = await p.cli('run');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('x lazy: FAILED, exited 0 but did not write never.txt');
  });

  it('gets the fingerprint of its inputs as the lock records them: it changes with a dep, a param or code, and --force sets PIPELINE_FORCE=1', async () => {
    p = TestProject.create({
      'pipeline.yaml': `stages:
  fp:
    cmd: "mkdir -p out && echo $PIPELINE_STAGE_FINGERPRINT $PIPELINE_FORCE >> out/seen.txt && sh tools/make.sh"
    code: [tools/make.sh]
    deps: [in.txt]
    params: {cfg.yaml: [k]}
    outs: [{path: out, persist: true}]
`,
      'in.txt': 'one\n',
      'cfg.yaml': 'k: 1\nunlisted: 1\n',
      'tools/make.sh': 'true\n',
    });
    const seen = (): string[][] => p.read('out/seen.txt').trim().split('\n').map((l) => l.split(' '));
    const run = async (...args: string[]): Promise<void> => {
      const r = await p.cli('run', ...args);
      expect(r.code, r.stderr).toBe(0);
    };
    await run();
    const [first] = seen();
    expect(first![0]).toBe(inputsFingerprint(readLock(p.path('pipeline.lock')).stages['fp']!));
    expect(first![1]).toBe('0');

    await run('--force');
    expect(seen()[1]).toEqual([first![0], '1']); // same inputs, same fingerprint; forced

    const changes: [string, () => void][] = [
      ['dep', () => p.write('in.txt', 'two\n')],
      ['param', () => p.write('cfg.yaml', 'k: 2\nunlisted: 1\n')],
      ['code', () => p.write('tools/make.sh', 'true # edited\n')],
    ];
    for (const [what, change] of changes) {
      change();
      await run();
      const all = seen();
      const latest = all[all.length - 1]!;
      expect(latest[1], what).toBe('0');
      expect(all.slice(0, -1).map((l) => l[0]), what).not.toContain(latest[0]);
      expect(latest[0], what).toBe(inputsFingerprint(readLock(p.path('pipeline.lock')).stages['fp']!));
    }
  });
});
