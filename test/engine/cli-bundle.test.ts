// bin/pipeline.js runs engine commands from an esbuild bundle of src/cli: it must behave as
// the sources run through tsx do, and follow source edits.
import { readFileSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { moduleLog } from '../helpers/module-log.ts';
import { collect, REPO_ROOT, TestProject, type CliResult } from '../helpers/project-rig.ts';

const BUNDLE = join(REPO_ROOT, 'node_modules/.cache/brickflow-cli/cli.mjs');
const projects: TestProject[] = [];
afterAll(() => projects.forEach((p) => p.cleanup()));

function project(files: Record<string, string>): TestProject {
  const p = TestProject.create(files);
  projects.push(p);
  return p;
}

const PIPELINE = `stages:
  prepare:
    cmd: "mkdir -p out && cp data/in.txt out/a.txt"
    deps: [data]
    outs: [out]
  report:
    cmd: "wc -c out/a.txt > report.txt"
    deps: [out]
    outs: [report.txt]
`;

describe('the bundled CLI', () => {
  it('prints and exits as the sources run through tsx do: status, dry run, dag, a config error', async () => {
    const p = project({ 'pipeline.yaml': PIPELINE, 'data/in.txt': 'hello\n' });
    const both = async (...args: string[]): Promise<[CliResult, CliResult]> => [
      await p.cli(...args),
      await new Promise<CliResult>((resolve) => {
        const child = p.spawn(args, { PIPELINE_NO_BUNDLE: '1' });
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      }),
    ];
    for (const args of [['status'], ['run', '--dry-run'], ['dag', '--mermaid']]) {
      const [bundled, tsx] = await both(...args);
      expect(bundled).toEqual(tsx);
      expect(bundled.code).toBe(0);
    }
    expect((await p.cli('run')).code).toBe(0);
    const [fresh, freshTsx] = await both('status');
    expect(fresh).toEqual(freshTsx);
    expect(fresh.stdout).toMatch(/report\s+fresh/);

    p.write('pipeline.yaml', PIPELINE.replace('deps: [out]', 'deps: [out]\n    bogus: 1'));
    const [bad, badTsx] = await both('status');
    expect(bad).toEqual(badTsx);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('pipeline.yaml');
  });

  it('is remade after an engine source changes, also when several commands start at once', async () => {
    const p = project({ 'pipeline.yaml': PIPELINE, 'data/in.txt': 'hello\n' });
    expect((await p.cli('dag')).code).toBe(0);
    const before = statSync(BUNDLE, { bigint: true }).mtimeNs;
    const source = join(REPO_ROOT, 'src/engine/status.ts');
    const now = new Date();
    utimesSync(source, now, now); // content unchanged, as an editor's save of the same text
    const runs = await Promise.all([1, 2, 3, 4].map(() => p.cli('dag')));
    for (const r of runs) expect(r).toEqual(runs[0]);
    expect(runs[0]!.code).toBe(0);
    expect(statSync(BUNDLE, { bigint: true }).mtimeNs).not.toBe(before);
    const st = statSync(source, { bigint: true });
    expect(readFileSync(BUNDLE, 'utf8').split('\n')[0]).toContain(`"src/engine/status.ts":"${st.size}:${st.mtimeNs}"`);
  });

  it('loads the S3 SDK and the file watcher only for the commands that use them', async () => {
    const p = project({ 'pipeline.yaml': PIPELINE, 'data/in.txt': 'hello\n' });
    const modules = moduleLog();
    const r = await collect(p.spawn(['status'], modules.env));
    const resolved = modules.read();
    modules.cleanup();
    expect(r.code, r.stderr).toBe(0);
    expect(resolved).toContain('yaml'); // the hook saw the CLI's imports
    expect(resolved).not.toContain('@aws-sdk/client-s3');
    expect(resolved).not.toContain('chokidar');
  });
});
