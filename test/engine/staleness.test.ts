import { utimesSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stagesRan, TestProject } from '../helpers/project-rig.ts';

// prep <- (in.txt, params) ; build <- prep's out + code (a .ts stage with a local import) ;
// side is independent of both.
const PIPELINE = `stages:
  prep:
    cmd: "mkdir -p out && cat in.txt > out/prep.txt && cat data/*.txt >> out/prep.txt 2>/dev/null; true"
    deps: [in.txt, data]
    params: {params.yaml: [prep.scale]}
    outs: [out/prep.txt]
  build:
    run: stages/build.ts
    deps: [out/prep.txt]
    outs: [out/build]
  side:
    cmd: "mkdir -p out && echo side > out/side.txt"
    outs: [out/side.txt]
`;

const BUILD_TS = `import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { suffix } from '../src/lib.ts';
mkdirSync('out/build', { recursive: true });
writeFileSync('out/build/result.txt', readFileSync('out/prep.txt', 'utf8') + suffix);
`;

describe('staleness', () => {
  let template: TestProject;
  let p: TestProject;
  beforeAll(async () => {
    template = TestProject.create({
      'pipeline.yaml': PIPELINE,
      'in.txt': 'one\n',
      'data/a.txt': 'a\n',
      'params.yaml': 'prep: {scale: 1, unused: 1}\nother: 5\n',
      'stages/build.ts': BUILD_TS,
      'src/lib.ts': "export { suffix } from './deeper.ts';\n",
      'src/deeper.ts': "export const suffix = '!';\n",
    });
    const first = await template.cli('run');
    expect(first.code, first.stderr).toBe(0);
    expect(stagesRan(first.stdout)).toEqual(['prep', 'build', 'side']);
  });
  afterAll(() => template.cleanup());
  beforeEach(() => {
    p = template.clone();
  });
  afterEach(() => p.cleanup());

  it('a second run right after runs nothing', async () => {
    const r = await p.cli('run');
    expect(r.code).toBe(0);
    expect(stagesRan(r.stdout)).toEqual([]);
    expect(r.stdout).toMatch(/prep\s+skipped \(fresh\)/);
  });

  it('changing a dep file reruns that stage and what is downstream, not the independent stage', async () => {
    p.write('in.txt', 'two\n');
    const status = await p.cli('status');
    expect(status.stdout).toMatch(/prep\s+stale: dep in.txt changed/);
    expect(status.stdout).toMatch(/build\s+stale: upstream stage prep will run first/);
    expect(status.stdout).toMatch(/side\s+fresh/);
    const r = await p.cli('run');
    expect(stagesRan(r.stdout)).toEqual(['prep', 'build']);
    expect(p.read('out/build/result.txt')).toBe('two\na\n!');
  });

  it('touching a dep without changing its content does not make it stale', async () => {
    utimesSync(p.path('in.txt'), new Date(), new Date(Date.now() + 5000));
    const r = await p.cli('status');
    expect(r.stdout).toMatch(/prep\s+fresh/);
  });

  it('adding a file to a dep folder makes the stage stale', async () => {
    p.write('data/b.txt', 'b\n');
    const r = await p.cli('status', '--json');
    const prep = (JSON.parse(r.stdout) as { stage: string; status: string; reason?: unknown }[]).find((s) => s.stage === 'prep');
    expect(prep).toEqual({ stage: 'prep', status: 'stale', reason: { kind: 'dep-changed', path: 'data' }, message: 'dep data changed' });
  });

  it('a listed param key change names the key; an unlisted key changes nothing', async () => {
    p.write('params.yaml', 'prep: {scale: 1, unused: 2}\nother: 6\n');
    expect((await p.cli('status')).stdout).toMatch(/prep\s+fresh/);
    p.write('params.yaml', 'prep: {scale: 2, unused: 2}\nother: 6\n');
    expect((await p.cli('status')).stdout).toMatch(/prep\s+stale: param prep.scale in params.yaml changed/);
  });

  it('editing a module imported transitively by a run: stage makes it stale', async () => {
    p.write('src/deeper.ts', "export const suffix = '?';\n");
    const r = await p.cli('run');
    expect(r.stdout).toContain('> build: running (code src/deeper.ts changed)');
    expect(stagesRan(r.stdout)).toEqual(['build']);
    expect(p.read('out/build/result.txt')).toBe('one\na\n?');
  });

  it('an out edited by hand or deleted makes its stage stale', async () => {
    p.write('out/build/result.txt', 'tampered');
    p.remove('out/side.txt');
    const r = await p.cli('status');
    expect(r.stdout).toMatch(/build\s+stale: out out\/build was edited/);
    expect(r.stdout).toMatch(/side\s+stale: out out\/side.txt is missing/);
  });

  it('changing a stage entry in pipeline.yaml makes it stale', async () => {
    p.write('pipeline.yaml', PIPELINE.replace('echo side', 'echo side2'));
    expect((await p.cli('status')).stdout).toMatch(/side\s+stale: its entry in pipeline.yaml changed/);
  });
});
