// split.evaluate_on names the evaluated source: checked before anything runs (the schema's
// x-names-item, in run's up-front check), and the evaluated source's loss weight follows it.
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { parseAugmentConfig, sourceWeight } from '../../src/ml/augment/config.ts';
import { REPO_ROOT, TestProject } from '../helpers/project-rig.ts';

describe('split.evaluate_on', () => {
  const projects: TestProject[] = [];
  afterAll(() => { for (const p of projects) p.cleanup(); });

  it('naming no use: split source stops run with exit 2 and its file:line:col before the first stage starts', async () => {
    const data = parseYaml(readRepo('config/data.yaml')) as Record<string, Record<string, unknown>>;
    data['sources'] = [{ name: 'photos', path: 'data/captures', layout: 'part', use: 'split' }] as never;
    data['split']!['evaluate_on'] = 'lego';
    // Stand-ins for synth and filter: synth leaves a mark if it ever starts.
    const p = TestProject.create({
      'pipeline.yaml': `stages:
  synth:
    cmd: node -e "require('fs').writeFileSync('synth-started', '')"
    params: {config/data.yaml: [synth]}
    outs: [synth-started]
  filter:
    cmd: node -e "require('fs').writeFileSync('filtered', '')"
    deps: [synth-started]
    params: {config/data.yaml: [sources, split]}
    outs: [filtered]
`,
      'config/data.yaml': toYaml(data),
    });
    projects.push(p);
    cpSync(join(REPO_ROOT, 'schemas'), p.path('schemas'), { recursive: true });
    const line = p.read('config/data.yaml').split('\n').findIndex((l) => /^\s+evaluate_on: lego$/.test(l)) + 1;
    const col = p.read('config/data.yaml').split('\n')[line - 1]!.indexOf('lego') + 1;

    const r = await p.cli('run');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`config/data.yaml:${line}:${col}`);
    expect(r.stderr).toContain('split.evaluate_on: "lego" is not the name of a sources item with use: split (those: "photos")');
    expect(p.exists('synth-started')).toBe(false);
  });

  it('the evaluated source gets the evaluated-source loss weight whatever its name', () => {
    const parsed = parseAugmentConfig((parseYaml(readRepo('config/augment.yaml')) as { augment: unknown }).augment);
    if (!parsed.ok) throw new Error(parsed.message);
    expect(sourceWeight(parsed.config, 'photos', 'photos')).toBe(3);
    expect(sourceWeight(parsed.config, 'real', 'photos')).toBe(1);
    expect(sourceWeight(parsed.config, 'real', 'real')).toBe(3);
  });
});

function readRepo(rel: string): string {
  return readFileSync(join(REPO_ROOT, rel), 'utf8');
}
