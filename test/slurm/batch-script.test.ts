import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { batchScript, sbatchArgs } from '../../src/engine/slurm-batch.ts';
import { TestProject } from '../helpers/project-rig.ts';

// The batch script is plain sh: run here as Slurm would run it on the node.
function runScript(script: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8', env: { ...process.env, SLURM_JOB_ID: '42' } });
}

describe('the batch script of a Slurm stage', () => {
  it('runs the command in the project with the stage contract, values quoted as they are, and marks where it started', () => {
    const p = TestProject.create();
    try {
      const params = `{"a.yaml":{"note":"it's \\"quoted\\" $HOME \`x\`"}}`;
      p.write('job.id', 'brickflow-train-1a2b');
      const script = batchScript({
        root: p.dir,
        stage: 'train',
        env: { PIPELINE_STAGE: 'train', PIPELINE_PARAMS: params },
        command: { file: '/bin/sh', args: ['-c', 'echo "$PIPELINE_STAGE $PIPELINE_PARAMS"; pwd'] },
        jobName: 'brickflow-train-1a2b',
        idFile: p.path('job.id'),
        startedFile: p.path('started'),
      });
      const r = runScript(script);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(`train ${params}\n${p.dir}\n`);
      expect(p.read('started')).toBe(`42 ${hostname()}\n`);
    } finally {
      p.cleanup();
    }
  });

  const script = (root: string): string =>
    batchScript({ root, stage: 'train', env: {}, command: { file: '/bin/sh', args: ['-c', 'touch ran'] }, jobName: 'brickflow-train-1a2b', idFile: `${root}/job.id`, startedFile: `${root}/started` });

  it('says so when the project folder is not on the node', () => {
    const r = runScript(script('/nonexistent/brickflow-proj'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`brickflow: the project folder /nonexistent/brickflow-proj does not exist on ${hostname()}; Slurm runs the stage at the same path there, so the project must be on a filesystem the compute nodes share (docs/slurm.md)`);
  });

  it('runs nothing in a folder at the same path that is not the one the job was submitted from', () => {
    // Another clone at the same path on a node that does not share the disk: its id file is another job's, or none.
    const p = TestProject.create({ 'job.id': 'brickflow-train-ffff' });
    try {
      const r = runScript(script(p.dir));
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`brickflow: ${p.dir} on ${hostname()} is not the project folder the job was submitted from (${p.dir}/job.id does not hold brickflow-train-1a2b); Slurm runs the stage at the same path there`);
      expect(p.exists('ran') || p.exists('started')).toBe(false);
    } finally {
      p.cleanup();
    }
  });

  it('turns the executor options into sbatch arguments', () => {
    expect(sbatchArgs('brickflow-train-1a2b', { partition: 'gpu', gpus: 'a100:2', cpus: 8, mem: '32G', time: 90, account: 'lab', extraArgs: ['--qos=high'] }, { out: 'o', err: 'e' })).toEqual([
      '--parsable', '--job-name=brickflow-train-1a2b', '--output=o', '--error=e',
      '--partition=gpu', '--account=lab', '--cpus-per-task=8', '--gpus=a100:2', '--mem=32G', '--time=90', '--qos=high',
    ]);
  });
});
