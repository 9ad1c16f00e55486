import { afterEach, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/engine/diagnostic.ts';
import { buildGraph } from '../../src/engine/graph.ts';
import { parsePipeline } from '../../src/engine/pipeline-config.ts';
import { TestProject } from '../helpers/project-rig.ts';

/** All diagnostics for a pipeline text, formatted as the CLI prints them. */
function errorsOf(text: string): string {
  const parsed = parsePipeline(text, '/proj/pipeline.yaml', 'pipeline.yaml');
  if (!parsed.ok) return parsed.error.map(formatDiagnostic).join('\n');
  const graph = buildGraph(parsed.value);
  return graph.ok ? '' : graph.error.map(formatDiagnostic).join('\n');
}

describe('config errors name file:line:col and mark the text', () => {
  it('YAML syntax error', () => {
    const out = errorsOf('stages:\n  a:\n    cmd: "echo\n    deps: [x\n');
    expect(out).toMatch(/^pipeline\.yaml:\d+:\d+: error: YAML syntax/);
  });

  it('unknown key points at the key', () => {
    const out = errorsOf('stages:\n  a:\n    cmd: "true"\n    depz: [x]\n');
    expect(out).toContain('pipeline.yaml:4:5: error: unknown key "depz" in stages.a');
    expect(out).toContain('    |     ~~~~');
  });

  it('unknown top-level key', () => {
    expect(errorsOf('stages:\n  a: {cmd: "true"}\nstagez: {}\n')).toContain('pipeline.yaml:3:1: error: unknown key "stagez"');
  });

  it('a stage with neither run nor cmd', () => {
    expect(errorsOf('stages:\n  a:\n    deps: [x]\n')).toContain('pipeline.yaml:2:3: error: stage "a" needs exactly one of run: or cmd:');
  });

  it('wrong type names the key path', () => {
    expect(errorsOf('stages:\n  a:\n    cmd: "true"\n    deps: x\n')).toContain('pipeline.yaml:4:11: error: stages.a.deps: must be array');
  });

  it('a dep outside the project', () => {
    const out = errorsOf('stages:\n  a:\n    cmd: "true"\n    deps: [../secret]\n');
    expect(out).toContain('pipeline.yaml:4:12: error: dep of stage "a" "../secret" is outside the project');
    expect(out).toContain('~~~~~~~~~');
  });

  it('an absolute out path', () => {
    expect(errorsOf('stages:\n  a:\n    cmd: "true"\n    outs: [/tmp/x]\n')).toContain('pipeline.yaml:4:12: error: out of stage "a" "/tmp/x" is outside the project');
  });

  it('two stages claiming one out point at both places', () => {
    const out = errorsOf('stages:\n  a:\n    cmd: "true"\n    outs: [build/x]\n  b:\n    cmd: "true"\n    outs: [build]\n');
    expect(out).toContain('pipeline.yaml:7:12: error: stage "b" writes "build", which overlaps "build/x" written by stage "a"');
    expect(out).toContain('pipeline.yaml:4:12: note: "build/x" is claimed here by stage "a"');
  });

  it('a stage defined twice points at both definitions', () => {
    const out = errorsOf('stages:\n  a:\n    cmd: "true"\n  a:\n    cmd: "false"\n');
    expect(out).toContain('pipeline.yaml:4:3: error: "a" is defined twice');
    expect(out).toContain('pipeline.yaml:2:3: note: first definition of "a"');
  });

  it('a cycle names its stages in order', () => {
    const out = errorsOf(
      'stages:\n  a:\n    cmd: "true"\n    deps: [c.txt]\n    outs: [a.txt]\n  b:\n    cmd: "true"\n    deps: [a.txt]\n    outs: [b.txt]\n  c:\n    cmd: "true"\n    deps: [b.txt]\n    outs: [c.txt]\n',
    );
    expect(out).toMatch(/error: the stages form a cycle: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)/);
  });

  it('a gate that is not a comparison', () => {
    const out = errorsOf('stages:\n  a:\n    cmd: "true"\n    metrics: m.json\n    gates: {acc: "about 0.9"}\n');
    expect(out).toContain('pipeline.yaml:5:18: error: gate acc: "about 0.9" is not a comparison');
  });

  it('gates without a metrics file', () => {
    expect(errorsOf('stages:\n  a:\n    cmd: "true"\n    gates: {acc: ">= 1"}\n')).toContain('has gates: but no metrics: file');
  });
});

describe('the CLI on a bad config', () => {
  let project: TestProject | undefined;
  afterEach(() => project?.cleanup());

  it('exits 2 printing the diagnostic with the squiggle', async () => {
    project = TestProject.create({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: "true"\n    outz: [x]\n' });
    const r = await project.cli('status');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pipeline.yaml:4:5: error: unknown key "outz" in stages.a');
    expect(r.stderr).toContain('   4 |     outz: [x]\n     |     ~~~~');
  });

  it('exits 2 naming an unknown stage given to --until or --only', async () => {
    project = TestProject.create({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: "true"\n' });
    const until = await project.cli('run', '--until', 'nope');
    expect(until.code).toBe(2);
    expect(until.stderr).toContain('stage "nope" is not a stage of');
    expect(until.stderr).toContain('(stages: a)');
    const only = await project.cli('run', '--only', 'zzz');
    expect(only.code).toBe(2);
    expect(only.stderr).toContain('--only "zzz" is not a stage');
  });
});
