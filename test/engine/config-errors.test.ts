import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/engine/diagnostic.ts';
import { buildGraph } from '../../src/engine/graph.ts';
import { paramSchemaFile } from '../../src/engine/params.ts';
import { loadPipeline, parsePipeline } from '../../src/engine/pipeline-config.ts';
import { preflight } from '../../src/engine/preflight.ts';
import { REPO_ROOT, TestProject } from '../helpers/project-rig.ts';

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

/** Line and column (1-based) where `needle` starts in `text`. */
function placeOf(text: string, needle: string): string {
  const i = text.indexOf(needle);
  if (i < 0) throw new Error(`"${needle}" not in text`);
  const before = text.slice(0, i).split('\n');
  return `${before.length}:${before[before.length - 1]!.length + 1}`;
}

/** The repo's own config file and its schema, as a project would have them. */
function repoConfig(name: string): Record<string, string> {
  return {
    [`config/${name}.yaml`]: readFileSync(join(REPO_ROOT, `config/${name}.yaml`), 'utf8'),
    [`schemas/${name}.schema.json`]: readFileSync(join(REPO_ROOT, `schemas/${name}.schema.json`), 'utf8'),
  };
}

/** A first stage that leaves a marker, then `second` reading `params`; the marker says whether anything ran. */
function twoStages(params: string, extra = ''): string {
  return `stages:\n  first:\n    cmd: "echo ran > first.txt"\n    outs: [first.txt]\n  second:\n    cmd: "cat first.txt > second.txt"\n    deps: [first.txt${extra}]\n    params: ${params}\n    outs: [second.txt]\n`;
}

describe('params files are checked before the first stage starts', () => {
  let project: TestProject | undefined;
  afterEach(() => project?.cleanup());

  it('epochs: -3 in config/training.yaml stops the run at once with exit 2 and its line and column', async () => {
    const files = repoConfig('training');
    const training = files['config/training.yaml']!.replace('  epochs: 30\n', '  epochs: -3\n');
    project = TestProject.create({ ...files, 'config/training.yaml': training, 'pipeline.yaml': twoStages('{config/training.yaml: [model, training, loss, curriculum]}') });
    const r = await project.cli('run');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`config/training.yaml:${placeOf(training, '-3')}: error: training.epochs: must be >= 1`);
    expect(project.exists('first.txt')).toBe(false);
  });

  it('a tab in config/data.yaml is reported at the YAML error\'s line, not as an unreadable value', async () => {
    const files = repoConfig('data');
    const data = files['config/data.yaml']!.replace('  train: 0.70\n', '\ttrain: 0.70\n');
    project = TestProject.create({ ...files, 'config/data.yaml': data, 'pipeline.yaml': twoStages('{config/data.yaml: [split]}') });
    const r = await project.cli('run');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`config/data.yaml:${placeOf(data, '\ttrain')}: error: YAML syntax: Tabs are not allowed as indentation`);
    expect(r.stderr + r.stdout).not.toContain('<unreadable>');
    expect(project.exists('first.txt')).toBe(false);
  });

  it('a params key that does not exist is exit 2 at its place in pipeline.yaml', async () => {
    const pipeline = twoStages('{config/training.yaml: [model.input_sise]}');
    project = TestProject.create({ ...repoConfig('training'), 'pipeline.yaml': pipeline });
    const r = await project.cli('run');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`pipeline.yaml:${placeOf(pipeline, 'model.input_sise')}: error: config/training.yaml has no key "model.input_sise" (model has: architecture,`);
    expect(project.exists('first.txt')).toBe(false);
  });

  it('a key the schema allows but the file leaves out is not an error', async () => {
    project = TestProject.create({ ...repoConfig('training'), 'pipeline.yaml': twoStages('{config/training.yaml: [loss.extra_source_weights, model.input_size]}') });
    const r = await project.cli('run');
    expect(r.stderr).not.toContain('has no key');
    expect(r.code).toBe(0);
  });

  it('a params file that does not exist is exit 2 at its place in pipeline.yaml', async () => {
    const pipeline = twoStages('{config/augmnet.yaml: [augment]}');
    project = TestProject.create({ 'pipeline.yaml': pipeline });
    const r = await project.cli('run');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`pipeline.yaml:${placeOf(pipeline, 'config/augmnet.yaml')}: error: param file "config/augmnet.yaml" of stage "second" does not exist`);
  });

  it('a missing dep that no stage makes is reported at its place in pipeline.yaml', async () => {
    const pipeline = twoStages('{}', ', data/nope');
    project = TestProject.create({ 'pipeline.yaml': pipeline });
    const r = await project.cli('run');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`pipeline.yaml:${placeOf(pipeline, 'data/nope')}: error: dep "data/nope" of stage "second" does not exist, and no stage makes it`);
    expect(project.exists('first.txt')).toBe(false);
  });

  it('keys that do nothing under architecture: multitask are said to be ignored', async () => {
    const files = repoConfig('training');
    // The repo's config leaves the option-B keys commented out; a user who sets them is told.
    const training = files['config/training.yaml']!
      .replace('# part_grayscale: true', 'part_grayscale: true')
      .replace('# color_sources: [legacy, real]', 'color_sources: [legacy, real]');
    expect(training).toMatch(/architecture: multitask/);
    expect(training).toMatch(/^  part_grayscale: true/m);
    expect(training).toMatch(/^  color_sources: \[legacy, real\]/m);
    files['config/training.yaml'] = training;
    project = TestProject.create({ ...files, 'pipeline.yaml': twoStages('{config/training.yaml: [model, loss]}') });
    const r = await project.cli('run');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`config/training.yaml:${placeOf(training, 'part_grayscale')}: warning: model.part_grayscale is set but ignored: model.architecture is multitask`);
    expect(r.stderr).toContain(`config/training.yaml:${placeOf(training, 'color_sources')}: warning: loss.color_sources is set but ignored: model.architecture is multitask`);
  });
});

describe("the project's own configuration", () => {
  it('passes the up-front check: every params file has a schema, every listed key exists, with no warning', () => {
    const pipeline = loadPipeline(join(REPO_ROOT, 'pipeline.yaml'));
    if (!pipeline.ok) throw new Error(pipeline.error.map(formatDiagnostic).join('\n'));
    const files = [...new Set(pipeline.value.stages.flatMap((s) => s.params.map((p) => p.file)))].sort();
    expect(files).toEqual(['config/augment.yaml', 'config/data.yaml', 'config/deploy.yaml', 'config/evaluate.yaml', 'config/export.yaml', 'config/training.yaml']);
    for (const file of files) expect(paramSchemaFile(REPO_ROOT, file), file).toBe(join(REPO_ROOT, 'schemas', `${file.slice('config/'.length, -'.yaml'.length)}.schema.json`));
    const checked = preflight(pipeline.value, pipeline.value.stages);
    expect(checked.errors.map(formatDiagnostic)).toEqual([]);
    expect(checked.warnings.map((w) => w.message)).toEqual([]);
  });
});
