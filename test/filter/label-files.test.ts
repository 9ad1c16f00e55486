import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadColors, loadTargetParts } from '../../src/ml/dataset/labels.ts';
import { REPO, tempProject, writeFile } from './project-rig.ts';

describe('config/target_parts.json and config/colors.json are checked against their schemas', () => {
  it('the repo files pass', () => {
    expect(loadTargetParts(join(REPO, 'config/target_parts.json')).ok).toBe(true);
    expect(loadColors(join(REPO, 'config/colors.json')).ok).toBe(true);
  });

  it('a bad target part is reported at file:line:col with its key', () => {
    const root = tempProject('labels-parts-');
    writeFile(root, 'config/target_parts.json', '{\n  "parts": [\n    {"id": "3001", "name": "Brick 2 x 4"},\n    {"id": 3003, "name": "Brick 2 x 2", "teir": "A"}\n  ]\n}\n');
    const r = loadTargetParts(join(root, 'config/target_parts.json'), 'config/target_parts.json');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toContain('config/target_parts.json:4:12: parts.1.id must be string');
    expect(!r.ok && r.message).toContain('config/target_parts.json:4:5: parts.1 has an unknown key "teir"');
  });

  it('a duplicate color id and the unknown id 9999 are reported at file:line:col', () => {
    const root = tempProject('labels-colors-');
    writeFile(root, 'config/colors.json', '{"colors": [\n  {"id": 4, "name": "Red", "rgb": "C91A09"},\n  {"id": 4, "name": "Red again", "rgb": "C91A09"}\n]}\n');
    const dup = loadColors(join(root, 'config/colors.json'), 'config/colors.json');
    expect(!dup.ok && dup.message).toBe('config/colors.json:3:10: colors.1.id 4 is already used by colors.0');
    writeFile(root, 'config/colors.json', '{"colors": [\n  {"id": 9999, "name": "Unknown", "rgb": "000000"}\n]}\n');
    const unknown = loadColors(join(root, 'config/colors.json'), 'config/colors.json');
    expect(!unknown.ok && unknown.message).toBe('config/colors.json:2:10: colors.0.id must not be 9999 (it means unknown)');
  });
});
