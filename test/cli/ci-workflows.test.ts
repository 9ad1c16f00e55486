// The CI workflows in docs/ci/ are meant to be copied as they are: they must be valid YAML
// of the shape each service reads, their shell steps must parse, and every `npx pipeline …`
// they run must be a command and options the CLI accepts.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { GITLAB_JUNIT_PATH } from '../../src/cli/ci.ts';
import { externalCommandNames } from '../../src/cli/external-commands.ts';
import { ENGINE_COMMANDS, parseArgs } from '../../src/cli/options.ts';
import { XMLValidator } from 'fast-xml-parser';
import { PIPELINE_BIN, REPO_ROOT, TestProject } from '../helpers/project-rig.ts';

function load(file: string): unknown {
  const doc = parseDocument(readFileSync(join(REPO_ROOT, 'docs/ci', file), 'utf8'));
  expect(doc.errors.map((e) => e.message)).toEqual([]);
  return doc.toJS();
}

/** Each `npx pipeline ARGS` in a shell script, as argv (quotes dropped, up to ; && || | > or a comment). */
function pipelineInvocations(script: string): string[][] {
  return [...script.matchAll(/npx pipeline([^;&|>#\n]*)/g)].map((m) =>
    (m[1]!.match(/"[^"]*"|'[^']*'|\S+/g) ?? []).map((t) => t.replace(/^["']|["']$/g, '')),
  );
}

/** The shell text with GitHub's ${{ … }} expressions replaced by a placeholder word. */
function asShell(script: string): string {
  return script.replace(/\$\{\{[^}]*\}\}/g, 'X');
}

function expectValidInvocations(scripts: string[]): string[] {
  const commands: string[] = [];
  for (const argv of scripts.flatMap(pipelineInvocations)) {
    const parsed = parseArgs(argv);
    expect(parsed.ok ? 'ok' : parsed.error, argv.join(' ')).toBe('ok');
    if (!parsed.ok) continue;
    const known = (ENGINE_COMMANDS as readonly string[]).includes(parsed.command ?? '') || externalCommandNames().includes(parsed.command ?? '');
    expect(known, `pipeline ${argv.join(' ')}`).toBe(true);
    commands.push(parsed.command!);
  }
  for (const script of scripts) execFileSync('bash', ['-n'], { input: asShell(script) });
  return commands;
}

describe('docs/ci workflows', () => {
  it('GitHub Actions: valid workflow; runs the pipeline, publishes JUnit and the PR report, and fails with the run’s exit code', () => {
    const wf = load('github-actions.yml') as { on: unknown; jobs: Record<string, { 'runs-on': string; steps: { run?: string; uses?: string }[] }> };
    expect(wf.on).toBeDefined();
    const steps = Object.values(wf.jobs).flatMap((j) => {
      expect(j['runs-on']).toBeTruthy();
      return j.steps;
    });
    for (const s of steps) expect(Boolean(s.run) !== Boolean(s.uses), JSON.stringify(s)).toBe(true);
    const scripts = steps.flatMap((s) => (s.run ? [s.run] : []));
    expect(expectValidInvocations(scripts)).toEqual(['run', 'gates', 'report']);
    expect(scripts.some((s) => s.includes('npm ci'))).toBe(true);
    expect(scripts.at(-1)).toContain('steps.run.outputs.exit');
  });

  it('GitLab CI: valid job; runs the pipeline and hands GitLab the JUnit file where `run` writes it', () => {
    const ci = load('gitlab-ci.yml') as Record<string, { script: string[]; before_script?: string[]; after_script?: string[]; artifacts: { reports: { junit: string } } }>;
    const job = ci['pipeline']!;
    const scripts = [...(job.before_script ?? []), ...job.script, ...(job.after_script ?? [])];
    expect(expectValidInvocations(scripts)).toEqual(['run', 'report']);
    expect(job.artifacts.reports.junit).toBe(GITLAB_JUNIT_PATH);
  });
});

/**
 * A committed toy project whose one gate fails, with `origin` pointing at itself (so
 * `origin/main` exists) and `npx pipeline …` running the repository's CLI (no npm install).
 */
function toyProject(): TestProject {
  const p = TestProject.create({
    'pipeline.yaml': 'stages:\n  score:\n    cmd: "mkdir -p metrics && cp scores.json metrics/score.json"\n    deps: [scores.json]\n    metrics: metrics/score.json\n    gates:\n      acc: ">= 0.9"\n',
    'scores.json': '{"acc": 0.5}\n',
    '.gitignore': 'metrics/\n.pipeline/\n.shim/\nci-*\n',
    '.shim/npx': `#!/bin/sh\n[ "$1" = pipeline ] || exit 127\nshift\nexec "${process.execPath}" "${PIPELINE_BIN}" "$@"\n`,
  });
  chmodSync(p.path('.shim/npx'), 0o755);
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: p.path('.') });
  git('init', '-q', '-b', 'main');
  git('add', '.');
  git('commit', '-q', '-m', 'base');
  git('remote', 'add', 'origin', p.path('.'));
  git('fetch', '-q', 'origin');
  return p;
}

function shell(p: TestProject, script: string, env: Record<string, string>) {
  expect(script).not.toContain('${{');
  const path = `${p.path('.shim')}:${process.env['PATH']}`;
  // GitHub's default shell for `run:`; GitLab's runner also stops at the first failing line.
  return spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], { cwd: p.path('.'), env: { ...process.env, GITHUB_ACTIONS: '', GITLAB_CI: '', ...env, PATH: path }, encoding: 'utf8' });
}

describe('the workflows’ own steps, run on a toy project', () => {
  it('GitHub: run, JUnit, report and verdict work together: the job fails with exit 3 after publishing everything', () => {
    const wf = load('github-actions.yml') as { jobs: Record<string, { steps: { name?: string; run?: string }[] }> };
    const steps = Object.values(wf.jobs)[0]!.steps;
    const p = toyProject();
    try {
      const env = { GITHUB_ACTIONS: 'true', GITHUB_OUTPUT: p.path('ci-output'), GITHUB_STEP_SUMMARY: p.path('ci-summary.md') };
      p.write('ci-output', '');
      p.write('ci-summary.md', '');
      const runStep = (name: string) => {
        const step = steps.find((s) => s.name?.startsWith(name));
        expect(step?.run, name).toBeDefined();
        const exitOutput = /^exit=(\d+)$/m.exec(p.read('ci-output'))?.[1] ?? '';
        return shell(p, step!.run!.replace(/\$\{\{\s*steps\.run\.outputs\.exit\s*\}\}/g, exitOutput).replace(/\$\{\{\s*github\.base_ref\s*\}\}/g, 'main'), env);
      };
      const run = runStep('Run the pipeline');
      expect(run.status).toBe(0);
      expect(p.read('ci-output')).toContain('exit=3');
      expect(run.stdout).toMatch(/^::error file=pipeline\.yaml,line=7,col=7,title=gate score\.acc failed::/m);
      expect(p.read('ci-summary.md')).toContain('| score | acc | 0.5 | `>= 0.9` | ❌ FAIL |');
      expect(runStep('Gates as JUnit').status).toBe(0);
      expect(XMLValidator.validate(p.read('gates-junit.xml'))).toBe(true);
      expect(runStep('Report for the pull request').status).toBe(0);
      expect(p.read('report.md')).toContain('## Pipeline report vs `origin/main`');
      expect(runStep('Verdict').status).toBe(3);
    } finally {
      p.cleanup();
    }
  }, 60_000);

  it('GitLab: the script fails the job with exit 3, leaving the JUnit report where artifacts:reports:junit looks; after_script writes the MR report', () => {
    const job = (load('gitlab-ci.yml') as Record<string, { script: string[]; after_script: string[]; artifacts: { reports: { junit: string } } }>)['pipeline']!;
    const p = toyProject();
    try {
      const env = { GITLAB_CI: 'true', CI_MERGE_REQUEST_TARGET_BRANCH_NAME: 'main' };
      expect(shell(p, job.script.join('\n'), env).status).toBe(3);
      expect(XMLValidator.validate(p.read(job.artifacts.reports.junit))).toBe(true);
      expect(p.read(job.artifacts.reports.junit)).toContain('<failure message="acc = 0.5, target &gt;= 0.9"');
      expect(shell(p, job.after_script.join('\n'), env).status).toBe(0);
      expect(p.read('report.md')).toContain('## Pipeline report vs `origin/main`');
    } finally {
      p.cleanup();
    }
  }, 60_000);
});
