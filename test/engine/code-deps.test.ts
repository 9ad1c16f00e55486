// Code that a stage loads at run time (not by `import`) and `code:` entries count as code:
// editing them makes the stage stale, and status names the path.
import { appendFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/engine/diagnostic.ts';
import { stageInputs } from '../../src/engine/fingerprint.ts';
import { writeLock, type LockData } from '../../src/engine/lock-file.ts';
import { parsePipeline } from '../../src/engine/pipeline-config.ts';
import { PathHasher } from '../../src/engine/path-hasher.ts';
import { openProject } from '../../src/engine/project.ts';
import { REPO_ROOT, stagesRan, TestProject } from '../helpers/project-rig.ts';

describe('files loaded at run time are code', () => {
  let p: TestProject;
  beforeAll(async () => {
    p = TestProject.create({
      'pipeline.yaml': `stages:
  load:
    run: stages/load.ts
    outs: [out/load.txt]
  script:
    cmd: "mkdir -p out && sh tools/step.sh > out/script.txt"
    code: [tools/step.sh]
    outs: [out/script.txt]
`,
      'stages/load.ts': `import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
const kernel = readFileSync(new URL('../kernels/k.wasm', import.meta.url));
const smoke = join(dirname(fileURLToPath(import.meta.url)), '..', 'device', 'smoke.mjs');
mkdirSync('out', { recursive: true });
writeFileSync('out/load.txt', kernel.length + ' ' + readFileSync(smoke, 'utf8').length);
`,
      'kernels/k.wasm': 'wasm bytes',
      'device/smoke.mjs': "console.log('smoke');\n",
      'tools/step.sh': 'echo one\n',
    });
    const first = await p.cli('run');
    expect(first.code, first.stderr).toBe(0);
  });
  afterAll(() => p.cleanup());
  /** Runs `check` on a throwaway copy of the project after its first run. */
  async function inClone(check: (q: TestProject) => Promise<void>): Promise<void> {
    const q = p.clone();
    try {
      await check(q);
    } finally {
      q.cleanup();
    }
  }

  it('editing a file read via new URL(…, import.meta.url) makes its stage stale, naming it', () =>
    inClone(async (q) => {
      q.write('kernels/k.wasm', 'other wasm bytes');
      const r = await q.cli('status');
      expect(r.stdout).toMatch(/load\s+stale: code kernels\/k\.wasm changed/);
      expect(r.stdout).toMatch(/script\s+fresh/);
    }));

  it('editing a file joined to the module folder (a script shipped to a device) makes its stage stale, naming it', () =>
    inClone(async (q) => {
      q.write('device/smoke.mjs', "console.log('smoke test');\n");
      const r = await q.cli('run');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('> load: running (code device/smoke.mjs changed)');
      expect(stagesRan(r.stdout)).toEqual(['load']);
    }));

  it('editing a file listed under code: makes its stage stale, naming it', () =>
    inClone(async (q) => {
      q.write('tools/step.sh', 'echo two\n');
      const r = await q.cli('run');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('> script: running (code tools/step.sh changed)');
      expect(stagesRan(r.stdout)).toEqual(['script']);
      expect(q.read('out/script.txt')).toBe('two\n');
    }));

  it('a code: entry that does not exist is a config error at its file:line:col', () =>
    inClone(async (q) => {
      q.write('pipeline.yaml', q.read('pipeline.yaml').replace('code: [tools/step.sh]', 'code: [tools/stpe.sh]'));
      const r = await q.cli('status');
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('pipeline.yaml:7:12: error: code file of stage "script" "tools/stpe.sh" does not exist');
    }));

  it('a code: entry outside the project is refused like any other path', () => {
    const parsed = parsePipeline('stages:\n  a:\n    cmd: "true"\n    code: [../x.sh]\n', '/proj/pipeline.yaml', 'pipeline.yaml');
    expect(parsed.ok ? '' : parsed.error.map(formatDiagnostic).join('\n')).toContain('pipeline.yaml:4:12: error: code file of stage "a" "../x.sh" is outside the project');
  });
});

/** brickflow's own stages: the .wasm kernels and the device smoke script are in their code. */
describe("brickflow's run-time loaded files", () => {
  let p: TestProject;
  afterEach(() => p.cleanup());

  it('editing src/ml/backend/simd-kernels.wasm makes train stale and onnx-smoke.mjs makes deploy stale, each named', async () => {
    p = TestProject.create({
      'pipeline.yaml': 'stages:\n  train:\n    run: stages/train.ts\n  deploy:\n    run: stages/deploy.ts\n',
    });
    for (const dir of ['src', 'schemas']) cpSync(join(REPO_ROOT, dir), p.path(dir), { recursive: true });
    for (const stage of ['train', 'deploy']) cpSync(join(REPO_ROOT, `stages/${stage}.ts`), p.path(`stages/${stage}.ts`));
    // The lock a run would have written (running the real stages here would train and deploy).
    const project = openProject(p.path('pipeline.yaml'));
    if (!project.ok) throw new Error('pipeline.yaml did not load');
    const hasher = new PathHasher(p.dir, project.value.cache);
    const lock: LockData = { version: 1, stages: {} };
    for (const stage of project.value.pipeline.stages) lock.stages[stage.name] = { ...(await stageInputs(p.dir, stage, hasher)), outs: {} };
    writeLock(project.value.lockFile, lock);
    expect(Object.keys(lock.stages['train']!.code)).toContain('src/ml/backend/simd-kernels.wasm');
    expect(Object.keys(lock.stages['deploy']!.code)).toContain('src/ml/deploy/device/onnx-smoke.mjs');
    expect((await p.cli('status')).stdout).toMatch(/train\s+fresh[\s\S]*deploy\s+fresh/);

    appendFileSync(p.path('src/ml/backend/simd-kernels.wasm'), Buffer.from([0]));
    appendFileSync(p.path('src/ml/deploy/device/onnx-smoke.mjs'), '\n// edited\n');
    const r = await p.cli('status');
    expect(r.stdout).toMatch(/train\s+stale: code src\/ml\/backend\/simd-kernels\.wasm changed/);
    expect(r.stdout).toMatch(/deploy\s+stale: code src\/ml\/deploy\/device\/onnx-smoke\.mjs changed/);
  });
});
