import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/options.ts';
import { formatDiagnostic } from '../../src/engine/diagnostic.ts';
import { parsePipeline } from '../../src/engine/pipeline-config.ts';

const stageWith = (executor: string): string => `stages:\n  train:\n    cmd: "true"\n    executor: ${executor}\n`;

function errorsOf(text: string): string {
  const parsed = parsePipeline(text, '/proj/pipeline.yaml', 'pipeline.yaml');
  return parsed.ok ? '' : parsed.error.map(formatDiagnostic).join('\n');
}

describe('executor: in pipeline.yaml', () => {
  it('reads the slurm options into the stage', () => {
    const parsed = parsePipeline(stageWith('{slurm: {partition: gpu, gpus: 1, cpus: 8, mem: 32G, time: "04:00:00", account: lab, extra_args: [--qos=high]}}'), '/proj/pipeline.yaml', 'pipeline.yaml');
    expect(parsed.ok && parsed.value.stages[0]!.executor).toEqual({
      slurm: { partition: 'gpu', gpus: 1, cpus: 8, mem: '32G', time: '04:00:00', account: 'lab', extraArgs: ['--qos=high'] },
    });
  });

  it('local (or nothing) runs the stage here', () => {
    const parsed = parsePipeline(stageWith('local'), '/proj/pipeline.yaml', 'pipeline.yaml');
    expect(parsed.ok && parsed.value.stages[0]!.executor).toBeUndefined();
  });

  it('an executor that is neither local nor slurm points at it', () => {
    expect(errorsOf(stageWith('kubernetes'))).toContain(
      'pipeline.yaml:4:15: error: executor of stage "train" must be local or {slurm: {partition, gpus, cpus, mem, time, account, extra_args}}',
    );
  });

  it('an unknown slurm option points at the key', () => {
    expect(errorsOf(stageWith('{slurm: {partiton: gpu}}'))).toContain('pipeline.yaml:4:24: error: unknown key "partiton" in stages.train.executor.slurm');
  });

  it('a bad time points at the value, and only there', () => {
    const out = errorsOf(stageWith('{slurm: {time: "an hour"}}'));
    expect(out).toContain('pipeline.yaml:4:30: error: slurm time "an hour" of stage "train" is not valid: --time: minutes, or MM:SS, HH:MM:SS, D-HH[:MM[:SS]]');
    expect(out).not.toContain('must be local or');
  });

  it('run --executor takes only local', () => {
    const ok = parseArgs(['run', '--executor', 'local']);
    expect(ok.ok && ok.options.executor).toBe('local');
    expect(parseArgs(['run', '--executor', 'slurm'])).toEqual({ ok: false, error: '--executor takes only "local" (a stage\'s executor: in pipeline.yaml says where else it runs), got "slurm"' });
  });
});
