import { afterEach, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/engine/diagnostic.ts';
import { definitionHash } from '../../src/engine/fingerprint.ts';
import { parsePipeline } from '../../src/engine/pipeline-config.ts';
import { openProject } from '../../src/engine/project.ts';
import { runStages } from '../../src/engine/runner.ts';
import { stagesRan, TestProject } from '../helpers/project-rig.ts';

// `greet` declares FOO as an input and writes its value; `plain` does not declare env.
const PIPELINE = `stages:
  greet:
    cmd: "echo \\"$FOO\\" > greet.txt"
    env: [FOO]
    outs: [greet.txt]
  plain:
    cmd: "echo plain > plain.txt"
    outs: [plain.txt]
`;

describe('a stage\'s env: variables count as inputs', () => {
  let p: TestProject | undefined;
  afterEach(() => p?.cleanup());
  const run = (foo: string, ...args: string[]) => p!.cliWithin(60_000, args, { FOO: foo });

  it('is fresh with the same value, stale naming the variable when it changes; a stage without env stays fresh', async () => {
    p = TestProject.create({ 'pipeline.yaml': PIPELINE });
    expect((await run('a', 'run')).code).toBe(0);
    expect(stagesRan((await run('a', 'run')).stdout)).toEqual([]);

    const status = await run('b', 'status');
    expect(status.stdout).toMatch(/greet.*stale: env FOO changed/);
    expect(status.stdout).toMatch(/plain.*fresh/);
    const rerun = await run('b', 'run');
    expect(stagesRan(rerun.stdout)).toEqual(['greet']);
    expect(p.read('greet.txt')).toBe('b\n');
  });

  it("counts the run's own environment (RunOptions.env, as watch passes BRICKFLOW_WARM_START) over the shell's", async () => {
    p = TestProject.create({ 'pipeline.yaml': PIPELINE });
    const project = openProject(p.path('pipeline.yaml'));
    if (!project.ok) throw new Error(project.error.map((d) => d.message).join('\n'));
    const greet = project.value.pipeline.stages.filter((s) => s.name === 'greet');
    const ran = async (env: Record<string, string>) =>
      (await runStages(project.value, { stages: greet, env, onEvent: () => {} })).results.map((r) => r.kind);
    expect(await ran({ FOO: 'watch' })).toEqual(['ran']);
    expect(p.read('greet.txt')).toBe('watch\n');
    expect(await ran({ FOO: 'watch' })).toEqual(['fresh']);
    // A plain `run` (FOO unset in its environment) runs the stage again.
    const plainRun = await p.cliWithin(60_000, ['status'], { FOO: '' });
    expect(plainRun.stdout).toMatch(/greet.*stale: env FOO changed/);
  });

  it('a stage without env: keeps the definition hash it had before the key existed (no rerun after upgrading)', () => {
    const parsed = parsePipeline(PIPELINE, '/proj/pipeline.yaml', 'pipeline.yaml');
    if (!parsed.ok) throw new Error(parsed.error.map(formatDiagnostic).join('\n'));
    // The value the engine computed for this entry before `env:` existed (commit 8085c65).
    expect(definitionHash(parsed.value.stages.find((s) => s.name === 'plain')!)).toBe('c4beedcecaebdb75584750d5d269d6adc0c34ae978f8dd3a8ae62a184af87272');
  });

  it('a bad env entry is an error at its file:line:col', () => {
    const parsed = parsePipeline('stages:\n  a:\n    cmd: "true"\n    env: [OK, 9-bad]\n', '/proj/pipeline.yaml', 'pipeline.yaml');
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error.map(formatDiagnostic).join('\n')).toContain(
      'pipeline.yaml:4:15: error: env entry "9-bad" of stage "a" is not an environment variable name',
    );
  });
});
