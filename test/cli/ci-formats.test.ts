// The CI formatters on their own: annotation places in the repository's pipeline.yaml
// (gates written in flow style, several on one line), verdicts other than pass/fail in
// JUnit, and what `--ci auto` detects.
import { basename, join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import type { GateResult } from '../../src/engine/gates.ts';
import { loadPipeline, type Pipeline } from '../../src/engine/pipeline-config.ts';
import { detectCi, githubAnnotations, publishGates } from '../../src/cli/ci.ts';
import { formatGatesJunit } from '../../src/cli/formats/gates-junit.ts';
import { gatesMarkdown } from '../../src/cli/formats/markdown.ts';
import { REPO_ROOT } from '../helpers/project-rig.ts';

function repoPipeline(): Pipeline {
  const loaded = loadPipeline(join(REPO_ROOT, 'pipeline.yaml'));
  if (!loaded.ok) throw new Error('the repository pipeline.yaml does not load');
  return loaded.value;
}

const fail = (stage: string, metric: string, value: number, target: string): GateResult => ({ stage, metric, target, value, status: 'fail' });

describe('GitHub annotations', () => {
  it('point at line and column of each failed gate, also when several gates share a line', () => {
    const pipeline = repoPipeline();
    const lines = pipeline.stages.find((s) => s.name === 'evaluate')!.location.source.split('\n');
    const results = [fail('evaluate', 'part_top5', 0.8, '>= 0.98'), fail('evaluate', 'color_acc', 0.5, '>= 0.85'), fail('export', 'latency_ms_estimate', 140, '<= 100')];
    const annotations = githubAnnotations(results, pipeline, REPO_ROOT);
    expect(annotations).toHaveLength(3);
    for (const [i, a] of annotations.entries()) {
      const m = /^::error file=pipeline\.yaml,line=(\d+),col=(\d+),title=gate ([\w-]+)\.(\w+) failed::(.*)$/.exec(a);
      expect(m, a).not.toBeNull();
      const [, line, col, stage, metric] = m!;
      expect(`${stage}.${metric}`).toBe(`${results[i]!.stage}.${results[i]!.metric}`);
      expect(lines[Number(line) - 1]!.slice(Number(col) - 1)).toMatch(new RegExp(`^${metric}: "${results[i]!.target}"`));
    }
    expect(annotations[2]).toContain('::latency_ms_estimate = 140, target <= 100 in artifacts/metrics/export.json');
  });

  it('escape what GitHub would read as the end of a property or the message', () => {
    const pipeline = repoPipeline();
    const [a] = githubAnnotations([{ ...fail('evaluate', 'part_top1', 0.1, '>= 0.90'), value: undefined, note: 'bad: 50%\nsee log' }], pipeline, REPO_ROOT);
    expect(a).toMatch(/::part_top1 = no value, target >= 0\.90 in artifacts\/metrics\/evaluate\.json \(bad: 50%25%0Asee log\)$/);
  });
});

describe('publishing on GitHub', () => {
  it('names pipeline.yaml relative to GITHUB_WORKSPACE, wherever the step runs', () => {
    const printed: string[] = [];
    const output = { out: (t: string) => void printed.push(t), err: (t: string) => void printed.push(t), isTTY: false };
    const results = [fail('evaluate', 'part_top1', 0.2, '>= 0.90')];
    publishGates(results, repoPipeline(), { choice: 'auto', env: { GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: join(REPO_ROOT, '..') }, cwd: join(REPO_ROOT, 'src') }, output);
    expect(printed.join('')).toContain(`::error file=${basename(REPO_ROOT)}/pipeline.yaml,line=`);
  });
});

describe('JUnit', () => {
  it('a gate neither passed nor failed (its stage skipped) is a skipped testcase with the reason', () => {
    const pipeline = repoPipeline();
    const results: GateResult[] = [{ stage: 'deploy', metric: 'device_latency_ms_p95', target: '<= 100', value: undefined, status: 'skipped', note: 'no Pi configured' }];
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(formatGatesJunit(results, pipeline, REPO_ROOT));
    expect(doc.testsuites).toMatchObject({ tests: '1', failures: '0', skipped: '1' });
    expect(doc.testsuites.testsuite.testcase.skipped.message).toBe('skipped: no Pi configured');
    expect(doc.testsuites.testsuite.testcase.failure).toBeUndefined();
  });
});

describe('markdown', () => {
  it('counts and shows verdicts besides pass and fail (n/a, not run) without calling them failures', () => {
    const md = gatesMarkdown([
      { stage: 'evaluate', metric: 'part_top1', target: '>= 0.90', value: 0.95, status: 'pass' },
      { stage: 'evaluate', metric: 'color_acc', target: '>= 0.85', value: undefined, status: 'n/a', note: 'no color labels' },
      { stage: 'deploy', metric: 'device_latency_ms_p95', target: '<= 100', value: undefined, status: 'not-run', note: 'the stage has not run' },
    ]);
    expect(md).toContain('### Gates: 1 passed, 1 n/a, 1 not run\n');
    expect(md).toContain('| evaluate | color_acc | - | `>= 0.85` | ➖ n/a (no color labels) |');
    expect(md).toContain('| deploy | device_latency_ms_p95 | - | `<= 100` | ➖ not run (the stage has not run) |');
  });
});

describe('--ci auto', () => {
  it('detects GitHub Actions and GitLab CI from their variables, and nothing elsewhere', () => {
    expect(detectCi('auto', { GITHUB_ACTIONS: 'true' })).toBe('github');
    expect(detectCi('auto', { GITLAB_CI: 'true' })).toBe('gitlab');
    expect(detectCi('auto', { CI: 'true' })).toBe('none');
    expect(detectCi('auto', { GITHUB_ACTIONS: '' })).toBe('none');
    expect(detectCi('none', { GITHUB_ACTIONS: 'true' })).toBe('none');
  });
});
