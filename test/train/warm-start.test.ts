import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/ml/model/model-io.ts';
import { warmStartWanted, weightsHash } from '../../src/ml/train/warm-start.ts';
import { collect, TestProject, waitFor } from '../helpers/project-rig.ts';
import { params, SIZE, trainProject, writeCache } from './train-rig.ts';

interface TrainMetrics { epochs_run: number; warm_start_from: string | null; history: unknown[] }

/** training.warm_start in the tiny params: in watch (BRICKFLOW_WARM_START=1), 1 epoch; a from-scratch run has 2. */
const trainYaml = (training: object = {}): string => {
  const p = params({ training })['config/training.yaml'];
  return JSON.stringify({ ...p, training: { ...p.training, warm_start: { when: 'watch', epochs: 1 } } });
};

describe('training.warm_start: only data added continues from the last model', { timeout: 600_000 }, () => {
  let p: TestProject;
  const metrics = (): TrainMetrics => JSON.parse(p.read('artifacts/metrics/train.json')) as TrainMetrics;
  const asWatch = (): Promise<{ code: number | null; stdout: string; stderr: string }> => collect(p.spawn(['run'], { BRICKFLOW_WARM_START: '1' }));

  beforeAll(async () => {
    await tf.setBackend('cpu');
    p = await trainProject(trainYaml(), 64);
  });
  afterAll(() => p.cleanup());

  it('is off for run and on for watch by default', () => {
    expect(warmStartWanted({ when: 'watch', epochs: 1 }, {})).toBe(false);
    expect(warmStartWanted({ when: 'watch', epochs: 1 }, { BRICKFLOW_WARM_START: '1' })).toBe(true);
    expect(warmStartWanted({ when: 'always', epochs: 1 }, { BRICKFLOW_WARM_START: '0' })).toBe(false);
  });

  it('photos added: train runs the configured epochs from the previous weights; a changed training param trains from scratch', async () => {
    const first = await asWatch();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('warm start not possible (no previous model');
    expect(metrics().epochs_run).toBe(2);
    const previous = await loadModel(p.path('artifacts/model'));
    const previousHash = weightsHash(previous);
    previous.dispose();

    // 16 more train images; the first 64 are the same (same paths, parts and pixels).
    await writeCache(p.path('artifacts/augment-cache'), SIZE, 80);
    const warm = await asWatch();
    expect(warm.code, warm.stderr).toBe(0);
    expect(warm.stdout).toMatch(/warm start from the last model \(\w+, 64 -> 80 train images\): 1 epoch/);
    expect(metrics().warm_start_from).toBe(previousHash);
    expect(metrics().epochs_run).toBe(1);

    p.write('config/training.yaml', `${trainYaml({ lr: 0.02 })}\n`);
    const changed = await asWatch();
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toContain('warm start not possible (config/training.yaml changed since the last model)');
    expect(metrics().warm_start_from).toBeNull();
    expect(metrics().epochs_run).toBe(2);
  });
});

describe('watch turns warm start on for its stages', { timeout: 120_000 }, () => {
  /** BRICKFLOW_WARM_START as a stage of `pipeline watch ARGS` sees it in its first round. */
  async function seenByStage(...args: string[]): Promise<string> {
    const p = TestProject.create({
      'pipeline.yaml': 'stages:\n  probe:\n    cmd: node -e "require(\'fs\').writeFileSync(\'out.txt\', process.env.BRICKFLOW_WARM_START ?? \'unset\')"\n    deps: [inbox]\n    outs: [out.txt]\n',
      'inbox/a.txt': 'a\n',
    });
    const child = p.spawn(['watch', '--quiet-ms', '200', ...args]);
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    try {
      await waitFor(() => stdout.includes('watch: round 1 done'), 60_000);
      return p.read('out.txt');
    } finally {
      child.kill('SIGINT');
      await new Promise((done) => child.on('close', done));
      p.cleanup();
    }
  }

  it('BRICKFLOW_WARM_START=1 in watch, 0 with --no-warm-start', async () => {
    expect(await seenByStage()).toBe('1');
    expect(await seenByStage('--no-warm-start')).toBe('0');
  });
});
