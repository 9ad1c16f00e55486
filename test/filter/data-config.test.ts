import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseDataConfig } from '../../src/ml/dataset/data-config.ts';
import { REPO, tempProject, writeFile } from './project-rig.ts';

function check(yaml: string) {
  const root = tempProject('data-config-');
  const file = writeFile(root, 'config/data.yaml', yaml);
  return parseDataConfig(parseYaml(yaml), file, ['sources', 'split'], 'config/data.yaml');
}

describe('config/data.yaml', () => {
  it("the project's own config/data.yaml is valid for every stage that reads it", () => {
    const raw = parseYaml(readFileSync(join(REPO, 'config/data.yaml'), 'utf8')) as unknown;
    const r = parseDataConfig(raw, join(REPO, 'config/data.yaml'), ['synth', 'sources', 'split', 'filter', 'capture_plan']);
    expect(r.ok ? 'valid' : r.message).toBe('valid');
  });

  it('points at the second of two sources with the same name', () => {
    const r = check('sources:\n  - {name: real, path: a, layout: part, use: split}\n  - {name: real, path: b, layout: part, use: train}\nsplit: {train: 0.7, val: 0.15, test: 0.15}\n');
    expect(r.ok ? '' : r.message).toBe('config/data.yaml:3:12: sources.1.name "real" is already used by sources.0');
  });

  it('rejects split fractions that do not add up to 1, and unknown keys, each at its line', () => {
    const r = check('sources:\n  - {name: real, path: a, layout: part, use: split}\nsplit: {train: 0.8, val: 0.15, test: 0.15}\nfilter: {min_sise: 3}\n');
    expect(r.ok ? [] : r.message.split('\n')).toEqual([
      'config/data.yaml:4:10: unknown key "min_sise" in filter',
      'config/data.yaml:3:8: split.train + split.val + split.test must be 1 (is 1.1)',
    ]);
  });

  it('split.evaluate_on must name a use: split source, checked at its line (default: real)', () => {
    const r = check('sources:\n  - {name: lego, path: a, layout: part, use: split}\n  - {name: renders, path: b, layout: part, use: train}\nsplit:\n  evaluate_on: renders\n  train: 0.7\n  val: 0.15\n  test: 0.15\n');
    expect(r.ok ? '' : r.message).toBe('config/data.yaml:5:16: split.evaluate_on: "renders" is not the name of a sources item with use: split (those: "lego"); name the source your own test photos come from');
    const unset = check('sources:\n  - {name: lego, path: a, layout: part, use: split}\nsplit: {train: 0.7, val: 0.15, test: 0.15}\n');
    expect(unset.ok ? '' : unset.message).toMatch(/^config\/data.yaml:3:8: split.evaluate_on: "real" is not the name of a sources item with use: split/);
    const named = check('sources:\n  - {name: lego, path: a, layout: part, use: split}\nsplit: {evaluate_on: lego, train: 0.7, val: 0.15, test: 0.15}\n');
    expect(named.ok && named.value.split.evaluate_on).toBe('lego');
  });
});
