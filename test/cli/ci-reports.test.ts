// Gates and metrics as CI reads them: JUnit, markdown (golden files), GitHub annotations and
// job summary, GitLab's JUnit file, the pull-request report, and usage errors.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, TestProject, type CliResult } from '../helpers/project-rig.ts';

// `prepare` never changes; `score` copies the test's numbers and "charts" into place. One
// gate passes and one fails after the second commit's numbers; each gate on its own line.
const PIPELINE = `stages:
  prepare:
    cmd: "mkdir -p prepared && cp input.txt prepared/input.txt"
    deps: [input.txt]
    outs: [prepared]
  score:
    cmd: "mkdir -p metrics report/thumbs && cp scores.json metrics/score.json && cp chart.png report/confusion.png && cp chart.png report/training-curves.png && cp vector.svg report/training-curves.svg && cp chart.png report/thumbs/sample.png"
    deps: [prepared, scores.json, chart.png, vector.svg]
    outs: [report]
    metrics: metrics/score.json
    gates:
      latency_ms: "< 100"
      acc: ">= 0.9"
`;

const GOLDEN = join(dirname(new URL(import.meta.url).pathname), 'golden');

/** Compares with test/cli/golden/NAME; UPDATE_GOLDEN=1 rewrites the file instead. */
function expectGolden(name: string, text: string): void {
  const file = join(GOLDEN, name);
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(file, text);
  expect(text).toBe(readFileSync(file, 'utf8'));
}

/** No CI variables from the machine running the tests leak into the child. */
const NO_CI = { GITHUB_ACTIONS: '', GITLAB_CI: '', GITHUB_STEP_SUMMARY: '' };

function cli(p: TestProject, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return collect(p.spawn(args, { ...NO_CI, ...env }));
}

/** A <testcase> as fast-xml-parser gives it (attributes without prefix). */
interface JunitTestcase {
  name: string;
  classname: string;
  file: string;
  failure?: { message: string; '#text': string };
}

let base: TestProject;

beforeAll(async () => {
  base = TestProject.create({
    'pipeline.yaml': PIPELINE,
    'input.txt': 'x\n',
    'scores.json': JSON.stringify({ acc: 0.92, latency_ms: 40 }),
    'chart.png': 'not really a png\n',
    'vector.svg': '<svg/>\n',
    '.gitignore': 'metrics/\nreport/\nprepared/\n.pipeline/\nout/\n',
  });
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: base.path('.') });
  expect((await cli(base, ['run'])).code).toBe(0);
  git('init', '-q');
  git('add', '.');
  git('commit', '-q', '-m', 'base: both gates pass');
  base.write('scores.json', JSON.stringify({ acc: 0.85, latency_ms: 45 }));
  expect((await cli(base, ['run'])).code).toBe(3);
}, 60_000);

afterAll(() => base.cleanup());

describe('gates --format', () => {
  it('junit: one testsuite per gated stage, one testcase per gate, a failure with value, target and metrics file', async () => {
    const r = await cli(base, ['gates', '--format', 'junit']);
    expect(r.code).toBe(3);
    expect(XMLValidator.validate(r.stdout)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['testsuite', 'testcase'].includes(name) }).parse(r.stdout);
    const suites = doc.testsuites.testsuite as Record<string, unknown>[];
    expect(suites.map((s) => s['name'])).toEqual(['score']);
    expect(doc.testsuites).toMatchObject({ tests: '2', failures: '1', errors: '0' });
    const suite = suites[0] as { tests: string; failures: string; testcase: JunitTestcase[] };
    expect(suite).toMatchObject({ tests: '2', failures: '1' });
    const byName = Object.fromEntries(suite.testcase.map((c) => [c['name'], c]));
    expect(Object.keys(byName)).toEqual(['latency_ms < 100', 'acc >= 0.9']);
    const failed = byName['acc >= 0.9']!;
    expect(failed['classname']).toBe('gates.score');
    expect(failed['file']).toBe('pipeline.yaml');
    expect(failed.failure?.message).toBe('acc = 0.85, target >= 0.9');
    expect(failed.failure?.['#text']).toBe('acc = 0.85, target >= 0.9 in metrics/score.json');
    expect(byName['latency_ms < 100']!.failure).toBeUndefined();
  });

  it('markdown: the gate table and the gated stage’s top-level images (golden file)', async () => {
    const r = await cli(base, ['gates', '--format', 'markdown']);
    expect(r.code).toBe(3);
    expectGolden('gates.md', r.stdout);
  });

  it('json is the same as --json; an unknown format or one the command cannot print is exit 2', async () => {
    const json = await cli(base, ['gates', '--format', 'json']);
    expect(json.stdout).toBe((await cli(base, ['gates', '--json'])).stdout);
    const bad = await cli(base, ['gates', '--format', 'xml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--format must be one of text, json, junit, markdown, got "xml"');
    const metricsMd = await cli(base, ['metrics', '--format', 'markdown']);
    expect(metricsMd.stdout).toContain('| score | acc | 0.85 |');
    const junitMetrics = await cli(base, ['metrics', '--format', 'junit']);
    expect(junitMetrics.code).toBe(2);
    expect(junitMetrics.stderr).toContain('metrics --format junit is not supported (use text, json, markdown)');
  });
});

describe('metrics --diff', () => {
  it('markdown: value, base, change, target and verdict per metric (golden file)', async () => {
    const r = await cli(base, ['metrics', '--diff', 'HEAD', '--format', 'markdown']);
    expect(r.code).toBe(0);
    expectGolden('metrics-diff.md', r.stdout);
  });

  it('a revision git does not know is exit 2 with a message, not an empty diff', async () => {
    const r = await cli(base, ['metrics', '--diff', 'no-such-branch']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: metrics --diff: "no-such-branch" is not a commit of the git repository');
    expect(r.stdout).toBe('');
    const outside = TestProject.create({ 'pipeline.yaml': PIPELINE });
    try {
      const none = await cli(outside, ['metrics', '--diff']);
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('error: metrics --diff: "HEAD" cannot be read: ');
      expect(none.stderr).toContain('is not inside a git repository');
    } finally {
      outside.cleanup();
    }
  });
});

describe('report --base', () => {
  it('writes the PR report: the stages rebuilt and why, gates, diff, images linked from the report’s folder (golden file)', async () => {
    const r = await cli(base, ['report', '--base', 'HEAD', '--out', 'out/report.md']);
    expect(r.code).toBe(0);
    const text = base.read('out/report.md');
    expectGolden('report.md', text);
    const links = [...text.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]!);
    expect(links).toEqual(['../report/confusion.png', '../report/training-curves.png']);
    for (const link of links) expect(existsSync(join(base.path('out'), link))).toBe(true);
  });

  it('a bad --base is exit 2 and writes nothing', async () => {
    const r = await cli(base, ['report', '--base', 'nope~3', '--out', 'out/bad.md']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: report --base: "nope~3" is not a commit of the git repository');
    expect(base.exists('out/bad.md')).toBe(false);
  });
});

describe('in CI', () => {
  let p: TestProject;
  beforeAll(() => {
    p = base.clone();
  });
  afterAll(() => p.cleanup());

  it('GitHub Actions: an ::error annotation per failed gate at its line in pipeline.yaml, and the table in the job summary', async () => {
    p.write('summary.md', '# earlier step\n');
    const r = await cli(p, ['gates'], { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: p.path('summary.md') });
    expect(r.code).toBe(3);
    const annotations = r.stdout.split('\n').filter((l) => l.startsWith('::'));
    expect(annotations).toHaveLength(1);
    const m = /^::error file=pipeline\.yaml,line=(\d+),col=\d+,title=gate score\.acc failed::acc = 0\.85, target >= 0\.9 in metrics\/score\.json$/.exec(annotations[0]!);
    expect(m).not.toBeNull();
    expect(p.read('pipeline.yaml').split('\n')[Number(m![1]) - 1]).toBe('      acc: ">= 0.9"');
    const summary = p.read('summary.md');
    expect(summary.startsWith('# earlier step\n')).toBe(true);
    expect(summary).toContain('### Gates: 1 failed, 1 passed');
    expect(summary).toContain('| score | acc | 0.85 | `>= 0.9` | ❌ FAIL |');
  });

  it('GitHub Actions: with --format junit the annotations go to stderr, so stdout stays valid XML', async () => {
    const r = await cli(p, ['gates', '--format', 'junit'], { GITHUB_ACTIONS: 'true' });
    expect(XMLValidator.validate(r.stdout)).toBe(true);
    expect(r.stdout).not.toContain('::error');
    expect(r.stderr).toMatch(/^::error file=pipeline\.yaml,line=\d+,col=\d+,title=gate score\.acc failed::/m);
  });

  it('GitHub Actions: `run` annotates too', async () => {
    const r = await cli(p, ['run'], { GITHUB_ACTIONS: 'true' });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^::error file=pipeline\.yaml,line=\d+,col=\d+,title=gate score\.acc failed::/m);
  });

  it('GitLab CI: the JUnit report is written to .pipeline/reports/gates-junit.xml', async () => {
    p.remove('.pipeline/reports');
    const r = await cli(p, ['gates'], { GITLAB_CI: 'true' });
    expect(r.code).toBe(3);
    expect(p.read('.pipeline/reports/gates-junit.xml')).toBe((await cli(p, ['gates', '--format', 'junit'])).stdout);
  });

  it('outside CI, and with --ci none, nothing is published and the output is the plain table', async () => {
    p.remove('.pipeline/reports');
    p.write('summary.md', '');
    const plain = await cli(p, ['gates']);
    const off = await cli(p, ['gates', '--ci', 'none'], { GITHUB_ACTIONS: 'true', GITLAB_CI: 'true', GITHUB_STEP_SUMMARY: p.path('summary.md') });
    for (const r of [plain, off]) {
      expect(r.code).toBe(3);
      expect(r.stdout).not.toContain('::error');
      expect(r.stdout).toMatch(/score\s+acc\s+0\.85\s+>= 0\.9\s+FAIL/);
    }
    expect(off.stdout).toBe(plain.stdout);
    expect(p.read('summary.md')).toBe('');
    expect(p.exists('.pipeline/reports/gates-junit.xml')).toBe(false);
  });
});
