// The CI workflows in docs/ci/ are meant to be copied as they are: they must be valid YAML
// of the shape each service reads, their shell steps must parse, and every `npx pipeline …`
// they run must be a command and options the CLI accepts.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { GITLAB_JUNIT_PATH } from '../../src/cli/ci.ts';
import { externalCommandNames } from '../../src/cli/external-commands.ts';
import { ENGINE_COMMANDS, parseArgs } from '../../src/cli/options.ts';
import { REPO_ROOT } from '../helpers/project-rig.ts';

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
