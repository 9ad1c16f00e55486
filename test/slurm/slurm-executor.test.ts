import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { collect, TestProject, waitFor, type CliResult } from '../helpers/project-rig.ts';
import { startSlurmCluster, type SlurmCluster } from './cluster-rig.ts';

// One stage on Slurm, steered by mode.txt: ok (writes its out), fail (a partial out, exit 3),
// hang (a partial out, a marker, then sleeps), late (sleeps past its 1-minute time limit),
// release (a marker, then waits for release.flag and ends by itself leaving finished.flag).
const PIPELINE = `stages:
  make:
    cmd: "sh make.sh"
    deps: [mode.txt]
    outs: [out]
    executor: {slurm: {partition: debug, cpus: 1, mem: 64M, time: 1}}
`;
const MAKE_SH = `mode=$(cat mode.txt)
mkdir -p out
echo "partial" > out/result.txt
echo "working in mode $mode as stage $PIPELINE_STAGE, outs $PIPELINE_OUTS"
echo "a line on stderr" >&2
if [ "$mode" = fail ]; then exit 3; fi
if [ "$mode" = hang ] || [ "$mode" = late ]; then touch running.flag; sleep 300; fi
if [ "$mode" = release ]; then touch running.flag; while [ ! -f release.flag ]; do sleep 0.2; done; touch finished.flag; fi
echo "good $mode" > out/result.txt
`;

/** Resolves with the first match of `re` in what `child` writes to stderr. */
function stderrMatch(child: ChildProcess, re: RegExp): Promise<RegExpExecArray> {
  let text = '';
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer | string) => {
      const m = re.exec((text += String(chunk)));
      if (m) resolve(m);
    });
    child.on('close', () => reject(new Error(`the run ended without printing ${re}:\n${text}`)));
  });
}

describe('a stage with executor: slurm runs on the one-node cluster', () => {
  let cluster: SlurmCluster;
  let p: TestProject;
  let lockBefore: string;
  const run = (...args: string[]): Promise<CliResult> => collect(p.spawn(args, cluster.env));
  const jobIdIn = (text: string): string => /submitted as slurm job (\d+)/.exec(text)?.[1] ?? 'none';
  // Slurm checks time limits about every 30 s, so a job past its 1-minute limit ends 60 to
  // 90 s in: that run starts first, in its own project, and the last test collects it.
  let late: TestProject | undefined;
  let lateRun: Promise<CliResult> | undefined;
  // The project after one good run on Slurm (mode ok), which each test starts from a copy of.
  let base: TestProject | undefined;

  beforeAll(async () => {
    cluster = await startSlurmCluster();
    late = TestProject.create({ 'pipeline.yaml': PIPELINE, 'make.sh': MAKE_SH, 'mode.txt': 'late\n', 'out/result.txt': 'before\n' });
    lateRun = collect(late.spawn(['run'], cluster.env));
    base = TestProject.create({ 'pipeline.yaml': PIPELINE, 'make.sh': MAKE_SH, 'mode.txt': 'ok\n' });
    const first = await collect(base.spawn(['run'], cluster.env));
    expect(first.code, first.stderr).toBe(0);
    lockBefore = base.read('pipeline.lock');
  });
  afterAll(async () => {
    await lateRun;
    late?.cleanup();
    base?.cleanup();
    await cluster?.stop();
  });

  beforeEach(() => {
    p = base!.clone();
  });
  afterEach(() => p.cleanup());

  it('runs the stage as a job: its output streams with the prefix, its outs land and the lock is written', async () => {
    p.write('mode.txt', 'again\n');
    const r = await run('run');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\[make\] submitted as slurm job \d+\n/);
    expect(r.stdout).toContain('[make] working in mode again as stage make, outs ["out"]');
    expect(r.stderr).toContain('[make] a line on stderr');
    expect(p.read('out/result.txt')).toBe('good again\n');
    expect(p.read('pipeline.lock')).not.toBe(lockBefore);
    expect(p.read('.pipeline/logs/make.log')).toContain('working in mode again');
    expect(cluster.activeJobs()).not.toContain(jobIdIn(r.stderr));
    expect((await run('run')).stdout).toContain('- make: fresh, skipped');
  });

  it('a run: stage (TypeScript through tsx) runs on the node with the runner\'s node', async () => {
    p.write('stage.ts', `import { writeFileSync } from 'node:fs';\nconst stage: string = process.env['PIPELINE_STAGE'] ?? '?';\nwriteFileSync('ts.txt', \`\${stage} on node \${process.version}\`);\n`);
    p.write('pipeline.yaml', 'stages:\n  ts:\n    run: stage.ts\n    outs: [ts.txt]\n    executor: {slurm: {mem: 256M, time: 1}}\n');
    const r = await run('run');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\[ts\] submitted as slurm job \d+/);
    expect(p.read('ts.txt')).toBe(`ts on node ${process.version}`);
  });

  it('a failing job is a failed stage with Slurm\'s state and reason; outs and lock as they were', async () => {
    p.write('mode.txt', 'fail\n');
    const r = await run('run');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`x make: FAILED, slurm job ${jobIdIn(r.stderr)} ended FAILED (NonZeroExitCode, exit code 3)`);
    expect(p.read('out/result.txt')).toBe('good ok\n');
    expect(p.read('pipeline.lock')).toBe(lockBefore);
  });

  it('a job sbatch refuses is a failed stage naming sbatch\'s error', async () => {
    // Where a stage runs is not what it makes: a new executor alone does not make it stale.
    p.write('pipeline.yaml', PIPELINE.replace('partition: debug', 'partition: nosuch'));
    expect((await run('run')).stdout).toContain('- make: fresh, skipped');
    p.write('mode.txt', 'again\n');
    const r = await run('run');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/x make: FAILED, could not start: sbatch: error: .*[Ii]nvalid partition/);
    expect(p.read('out/result.txt')).toBe('good ok\n');
  });

  it('run --executor local runs the stage here instead', async () => {
    p.write('mode.txt', 'home\n');
    const r = await run('run', '--executor', 'local');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('submitted as slurm job');
    expect(p.read('out/result.txt')).toBe('good home\n');
  });

  it('Ctrl-C of the runner cancels the job (gone from squeue), restores the outs and keeps the lock; status showed it running', async () => {
    p.write('mode.txt', 'hang\n');
    const child = p.spawn(['run'], cluster.env);
    const done = collect(child);
    await waitFor(() => p.exists('running.flag'), 60_000);
    const status = await run('status');
    const jobId = /running on slurm job (\d+)/.exec(status.stdout)?.[1];
    expect(status.stdout).toMatch(/make\s+running on slurm job \d+/);
    expect(cluster.activeJobs()).toContain(jobId);
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    expect(cluster.activeJobs()).not.toContain(jobId);
    expect(p.read('out/result.txt')).toBe('good ok\n');
    expect(p.read('pipeline.lock')).toBe(lockBefore);
  });

  it('after kill -9 of the runner, the next run cancels the job left on Slurm before recovering the outs', async () => {
    p.write('mode.txt', 'hang\n');
    const child = p.spawn(['run'], cluster.env);
    const done = collect(child);
    await waitFor(() => p.exists('running.flag'), 60_000);
    child.kill('SIGKILL');
    const jobId = jobIdIn((await done).stderr);
    expect(cluster.activeJobs()).toContain(jobId);
    expect(p.read('out/result.txt')).toBe('partial\n');

    p.write('mode.txt', 'fail\n');
    const r = await run('run');
    expect(r.stderr).toContain(`cancelled slurm job ${jobId} of stage make (left running by an interrupted run; --wait-for-slurm waits for it instead)`);
    expect(r.stderr).toContain('recovered the previous outs of make');
    expect(cluster.activeJobs()).not.toContain(jobId);
    expect(r.code).toBe(1);
    expect(p.read('out/result.txt')).toBe('good ok\n');
    expect(p.read('pipeline.lock')).toBe(lockBefore);
  });

  it('--jobs 2 has two independent Slurm stages queued together', async () => {
    // Each waits for the other's marker: they finish only when both jobs run at once.
    const both = (me: string, other: string): string =>
      `  ${me}:\n    cmd: "touch ${me}.flag; while [ ! -f ${other}.flag ]; do sleep 0.2; done; echo ${me} > ${me}.txt"\n    outs: [${me}.txt]\n    executor: {slurm: {cpus: 1, mem: 64M, time: 1}}\n`;
    p.write('pipeline.yaml', `stages:\n${both('a', 'b')}${both('b', 'a')}`);
    const r = await run('run', '--jobs', '2');
    expect(r.code, r.stderr).toBe(0);
    expect(p.read('a.txt') + p.read('b.txt')).toBe('a\nb\n');
  });

  it('the job left by a runner killed between sbatch and journaling its id is found by name and folder, cancelled, and the outs recovered', async () => {
    // sbatch as usual, then kill -9 of the runner that called it before it reads the job id.
    const realSbatch = execFileSync('sh', ['-c', 'command -v sbatch'], { encoding: 'utf8' }).trim();
    p.write('bin/sbatch', `#!/bin/sh\nout=$(${realSbatch} "$@") || exit $?\necho "$out" > ${p.path('submitted')}\nkill -9 $PPID\n`);
    chmodSync(p.path('bin/sbatch'), 0o755);
    p.write('mode.txt', 'hang\n');
    const killed = await collect(p.spawn(['run'], { ...cluster.env, PATH: `${p.path('bin')}:${process.env['PATH']}` }));
    expect(killed.code).toBeNull();
    expect(killed.stderr).not.toContain('submitted as slurm job');
    const jobId = p.read('submitted').trim().split(';')[0]!;
    // The job has read its mode once it runs: the next run's mode cannot end it early.
    await waitFor(() => p.exists('running.flag'), 60_000);
    expect(cluster.activeJobs()).toContain(jobId);

    p.write('mode.txt', 'fail\n');
    const r = await run('run');
    expect(r.stderr).toContain(`cancelled slurm job ${jobId} of stage make (left running by an interrupted run`);
    expect(r.stderr).toContain('recovered the previous outs of make');
    expect(cluster.activeJobs()).not.toContain(jobId);
    expect(r.code).toBe(1);
    expect(p.read('out/result.txt')).toBe('good ok\n');
    expect(p.read('pipeline.lock')).toBe(lockBefore);
  });

  it('run --wait-for-slurm lets the job a killed runner left end by itself, then recovers the outs', async () => {
    p.write('mode.txt', 'release\n');
    const child = p.spawn(['run'], cluster.env);
    const done = collect(child);
    await waitFor(() => p.exists('running.flag'), 60_000);
    child.kill('SIGKILL');
    const jobId = jobIdIn((await done).stderr);

    p.write('mode.txt', 'fail\n');
    const next = p.spawn(['run', '--wait-for-slurm'], cluster.env);
    const nextDone = collect(next);
    await stderrMatch(next, new RegExp(`waiting for slurm job ${jobId} of stage make \\(left running by an interrupted run\\) to end`));
    expect(cluster.activeJobs()).toContain(jobId);
    p.write('release.flag', '');
    const r = await nextDone;
    expect(r.stderr).not.toContain('cancelled slurm job');
    expect(p.exists('finished.flag')).toBe(true);
    expect(r.stderr).toContain('recovered the previous outs of make');
    expect(r.code).toBe(1);
    expect(p.read('out/result.txt')).toBe('good ok\n');
  });

  it('a job that finds another folder at the project\'s path fails saying the project must be on a shared filesystem', async () => {
    // Held until the test has swapped the id file: the node sees a folder at the same path that is not the run's.
    p.write('pipeline.yaml', PIPELINE.replace('time: 1}', 'time: 1, extra_args: [--hold]}'));
    p.write('mode.txt', 'again\n');
    const child = p.spawn(['run'], cluster.env);
    const done = collect(child);
    const [, jobId] = await stderrMatch(child, /submitted as slurm job (\d+)/);
    p.write('.pipeline/logs/slurm/make.id', 'brickflow-make-of-another-run');
    execFileSync('scontrol', ['release', jobId!], { env: { ...process.env, ...cluster.env } });
    const r = await done;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`x make: FAILED, slurm job ${jobId} ended FAILED (NonZeroExitCode, exit code 1): the job did not start in this project folder (${p.dir} on its node is missing or is another folder): Slurm runs a stage at the same path on the compute node, so the project must be on a filesystem the nodes share (docs/slurm.md)`);
    expect(r.stdout + r.stderr).not.toContain('working in mode again');
    expect(p.read('out/result.txt')).toBe('good ok\n');
    expect(p.read('pipeline.lock')).toBe(lockBefore);
  });

  it('outs a Slurm job made are pushed to a shared cache, and a laptop without Slurm pulls them and runs nothing', async () => {
    const remote = TestProject.create();
    const laptop = TestProject.create({ 'make.sh': MAKE_SH, 'mode.txt': 'again\n' });
    try {
      const withRemote = `${PIPELINE}remotes:\n  shared: {url: ${remote.dir}}\n`;
      p.write('pipeline.yaml', withRemote);
      p.write('mode.txt', 'again\n');
      const ran = await run('run');
      expect(ran.code, ran.stderr).toBe(0);
      expect(ran.stderr).toMatch(/\[make\] submitted as slurm job \d+/);
      const pushed = await run('push');
      expect(pushed.code, pushed.stderr).toBe(0);

      laptop.write('pipeline.yaml', withRemote);
      const r = await collect(laptop.spawn(['run'])); // no SLURM_CONF: no cluster here
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('< make: restored from cache shared');
      expect(r.stderr).not.toContain('submitted as slurm job');
      expect(laptop.read('out/result.txt')).toBe('good again\n');
    } finally {
      remote.cleanup();
      laptop.cleanup();
    }
  });

  it('a job past its time limit is reported as TIMEOUT', async () => {
    const r = await lateRun!;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`x make: FAILED, slurm job ${jobIdIn(r.stderr)} ended TIMEOUT (TimeLimit`);
    expect(late!.read('out/result.txt')).toBe('before\n');
    expect(late!.exists('pipeline.lock')).toBe(false);
  });
});
