// Stage augment-cache: artifacts/dataset -> artifacts/augment-cache (K augmented variants per
// training image, val/test resized), at config/training.yaml's model.input_size.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { readStageContext, findProjectRoot, type StageContext } from '../src/engine/stage-context.ts';
import { buildAugmentCache, type BuildSummary } from '../src/ml/augment/build-cache.ts';
import { BLOB_DIR } from '../src/ml/augment/cache-layout.ts';
import { parseAugmentConfig } from '../src/ml/augment/config.ts';
import { DatasetFormatError } from '../src/ml/augment/dataset-input.ts';

const AUGMENT_FILE = 'config/augment.yaml';
const TRAINING_FILE = 'config/training.yaml';
const DEFAULT_INPUT_SIZE = 64;
/** The blobs' code key when started by hand: the code is unknown, so nothing made by the engine is reused. */
const BY_HAND = 'started-by-hand';

interface StageInputs { root: string; augment: unknown; inputSize: unknown; datasetDir: string; cacheDir: string; metricsFile: string | undefined; code: string; force: boolean }

/**
 * The engine's context; when started by hand before config/training.yaml exists (the
 * context reader needs every param file), the two param files are read here instead.
 */
function stageInputs(): StageInputs {
  let ctx: StageContext | undefined;
  try {
    ctx = readStageContext('augment-cache');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (ctx) {
    const model = (ctx.params[TRAINING_FILE]?.['model'] ?? {}) as Record<string, unknown>;
    return {
      root: ctx.root,
      augment: ctx.params[AUGMENT_FILE]?.['augment'],
      inputSize: model['input_size'],
      datasetDir: ctx.abs(ctx.deps.find((d) => d.endsWith('dataset')) ?? 'artifacts/dataset'),
      cacheDir: ctx.abs(ctx.outs[0] ?? 'artifacts/augment-cache'),
      metricsFile: ctx.metrics ? ctx.abs(ctx.metrics) : undefined,
      code: ctx.codeFingerprint ?? BY_HAND,
      force: ctx.force,
    };
  }
  const root = process.env['PIPELINE_ROOT'] ?? findProjectRoot(process.cwd());
  const read = (file: string) => existsSync(join(root, file)) ? parseYaml(readFileSync(join(root, file), 'utf8')) as Record<string, unknown> : {};
  return {
    root,
    augment: read(AUGMENT_FILE)['augment'],
    inputSize: (read(TRAINING_FILE)['model'] as Record<string, unknown> | undefined)?.['input_size'],
    datasetDir: join(root, 'artifacts/dataset'),
    cacheDir: join(root, 'artifacts/augment-cache'),
    metricsFile: undefined,
    code: BY_HAND,
    force: process.env['PIPELINE_FORCE'] === '1',
  };
}

async function main(): Promise<number> {
  const inputs = stageInputs();
  const parsed = parseAugmentConfig(inputs.augment, AUGMENT_FILE);
  if (!parsed.ok) { console.error(parsed.message); return 2; }
  const size = inputs.inputSize ?? DEFAULT_INPUT_SIZE;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 8) {
    console.error(`${TRAINING_FILE}: model.input_size must be an integer >= 8, got ${JSON.stringify(size)}`);
    return 2;
  }
  // --force: from scratch, the cached blobs included.
  if (inputs.force) rmSync(join(inputs.cacheDir, BLOB_DIR), { recursive: true, force: true });
  try {
    const summary = await buildAugmentCache({ datasetDir: inputs.datasetDir, cacheDir: inputs.cacheDir, root: inputs.root, size, config: parsed.config, code: inputs.code });
    if (inputs.metricsFile) writeMetrics(inputs.metricsFile, summary);
  } catch (err) {
    if (err instanceof DatasetFormatError) { console.error(err.message); return 1; }
    throw err;
  }
  return 0;
}

/** This run's figures (flat numbers, as the metrics contract asks), when the stage declares a metrics file. */
function writeMetrics(file: string, s: BuildSummary): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({
    images: s.images, made: s.made, reused: s.reused, removed_blobs: s.removedBlobs, bad_files: s.bad.length,
    train_samples: s.samples.train, val_samples: s.samples.val, test_samples: s.samples.test,
    seconds: s.seconds, threads: s.threads, phases: s.phases,
  }, null, 1));
}

process.exitCode = await main();
