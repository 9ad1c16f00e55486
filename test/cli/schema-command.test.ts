// Editor support: each YAML config names its JSON Schema on its first line (the
// yaml-language-server modeline VS Code and neovim read), and `pipeline schema` prints them.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { checkAgainstSchema } from '../../src/config/schema.ts';
import { REPO_ROOT, TestProject } from '../helpers/project-rig.ts';

const MODELINE = /^# yaml-language-server: \$schema=(\S+)$/;

/** The repository's YAML configs and the schema each is checked against (by name). */
function yamlConfigs(): { file: string; schema: string }[] {
  const configs = readdirSync(join(REPO_ROOT, 'config'))
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => ({ file: `config/${f}`, schema: `schemas/${f.replace(/\.ya?ml$/, '')}.schema.json` }));
  return [{ file: 'pipeline.yaml', schema: 'schemas/pipeline.schema.json' }, ...configs];
}

describe('YAML configs name their schema for editors', () => {
  it('every YAML config with a schema in schemas/ starts with a modeline pointing at it', () => {
    const withSchema = yamlConfigs().filter((c) => existsSync(join(REPO_ROOT, c.schema)));
    expect(withSchema.map((c) => c.file)).toEqual(expect.arrayContaining(['pipeline.yaml', 'config/data.yaml', 'config/training.yaml', 'config/deploy.yaml', 'config/augment.yaml']));
    for (const c of withSchema) {
      const first = readFileSync(join(REPO_ROOT, c.file), 'utf8').split('\n')[0]!;
      const m = MODELINE.exec(first);
      expect(m, `${c.file} line 1: ${first}`).not.toBeNull();
      expect(resolve(dirname(join(REPO_ROOT, c.file)), m![1]!), c.file).toBe(join(REPO_ROOT, c.schema));
    }
  });

  it('the schema each modeline names accepts the file as a whole, so editors mark no false errors', () => {
    for (const c of yamlConfigs().filter((c) => existsSync(join(REPO_ROOT, c.schema)))) {
      const check = checkAgainstSchema(parse(readFileSync(join(REPO_ROOT, c.file), 'utf8')), join(REPO_ROOT, c.schema));
      expect(check.errors, c.file).toEqual([]);
    }
  });

  it('no modeline points at a schema that does not exist', () => {
    for (const c of yamlConfigs()) {
      const m = MODELINE.exec(readFileSync(join(REPO_ROOT, c.file), 'utf8').split('\n')[0]!);
      if (m) expect(existsSync(resolve(dirname(join(REPO_ROOT, c.file)), m[1]!)), c.file).toBe(true);
    }
  });
});

describe('pipeline schema', () => {
  const schemaFiles = readdirSync(join(REPO_ROOT, 'schemas')).filter((f) => f.endsWith('.schema.json')).sort();

  it('lists every schema in schemas/ and prints one by name', async () => {
    const p = TestProject.create();
    try {
      const list = await p.cli('schema');
      expect(list.code).toBe(0);
      expect(list.stdout.trimEnd().split('\n').map((l) => l.split(/\s+/)[1])).toEqual(schemaFiles.map((f) => `schemas/${f}`));
      const one = await p.cli('schema', 'pipeline');
      expect(one.code).toBe(0);
      expect(JSON.parse(one.stdout)).toEqual(JSON.parse(readFileSync(join(REPO_ROOT, 'schemas/pipeline.schema.json'), 'utf8')));
      const bad = await p.cli('schema', 'nope');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('no schema named "nope" (there are: ');
    } finally {
      p.cleanup();
    }
  });
});
