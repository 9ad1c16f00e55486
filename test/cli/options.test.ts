import { describe, expect, it } from 'vitest';
import { externalCommandNames } from '../../src/cli/external-commands.ts';
import { parseArgs } from '../../src/cli/options.ts';
import { TestProject } from '../helpers/project-rig.ts';

describe('parseArgs', () => {
  it('reads the command, a stage and typed options', () => {
    const r = parseArgs(['run', 'train', '--jobs', '3', '-n', '--force', '-f', 'other.yaml']);
    expect(r.ok && { command: r.command, positionals: r.positionals, jobs: r.options.jobs, dryRun: r.options.dryRun, force: r.options.force, file: r.options.file })
      .toEqual({ command: 'run', positionals: ['train'], jobs: 3, dryRun: true, force: true, file: 'other.yaml' });
  });

  it('accepts --opt=value', () => {
    const r = parseArgs(['run', '--until=evaluate']);
    expect(r.ok && r.options.until).toBe('evaluate');
  });

  it('--diff takes an optional revision, HEAD when left out', () => {
    const bare = parseArgs(['metrics', '--diff']);
    const rev = parseArgs(['metrics', '--diff', 'HEAD~2']);
    expect(bare.ok && bare.options.diff).toBe('HEAD');
    expect(rev.ok && rev.options.diff).toBe('HEAD~2');
  });

  it('suggests the closest option for a typo', () => {
    expect(parseArgs(['run', '--untill', 'x'])).toEqual({ ok: false, error: 'unknown option --untill (did you mean --until?)' });
  });

  it('rejects a bad --jobs value with what it needs', () => {
    expect(parseArgs(['run', '--jobs', 'many'])).toEqual({ ok: false, error: '--jobs needs a positive whole number, got "many"' });
  });

  it('rejects an option that belongs to another command', () => {
    expect(parseArgs(['status', '--mermaid'])).toEqual({ ok: false, error: '--mermaid does not apply to "status" (it is for: dag)' });
  });

  it('passes everything after a non-engine command through untouched', () => {
    const r = parseArgs(['predict', '--image', 'x.jpg', '--weird']);
    expect(r.ok && { command: r.command, rest: r.rest }).toEqual({ command: 'predict', rest: ['--image', 'x.jpg', '--weird'] });
  });
});

describe('the pipeline command', () => {
  it('--help lists the engine commands, the commands in src/cli/commands, and exit codes', async () => {
    const p = TestProject.create();
    try {
      const r = await p.cli('--help');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('run [STAGE]');
      expect(r.stdout).toContain('-n, --dry-run');
      for (const name of externalCommandNames()) expect(r.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
      expect(r.stdout).toContain('exit codes: 0 done, 1 a stage failed, 2 bad config or usage, 3 a gate failed, 4 another run holds the lock');
      const bad = await p.cli('frobnicate');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('unknown command "frobnicate"');
    } finally {
      p.cleanup();
    }
  });
});
