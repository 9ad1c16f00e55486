// Stage augment-cache: artifacts/dataset -> artifacts/augment-cache (K augmented variants per
// training image, val/test resized), at config/training.yaml's model.input_size.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readStageContext } from '../src/engine/stage-context.ts';
import { buildAugmentCache, type BuildSummary } from '../src/ml/augment/build-cache.ts';
import { BLOB_DIR } from '../src/ml/augment/cache-layout.ts';
import { parseAugmentConfig } from '../src/ml/augment/config.ts';
import { DatasetFormatError } from '../src/ml/augment/dataset-input.ts';
import { evaluatedSource } from '../src/ml/dataset/data-config.ts';

const AUGMENT_FILE = 'config/augment.yaml';
const TRAINING_FILE = 'config/training.yaml';
const DATA_FILE = 'config/data.yaml';
/** The blobs' code key when started by hand: the code is unknown, so nothing made by the engine is reused. */
const BY_HAND = 'started-by-hand';

async function main(): Promise<number> {
  const ctx = readStageContext('augment-cache');
  // The training profile picks augment.profiles' strength.
  const profile = ctx.params[TRAINING_FILE]?.['profile'];
  const profiles = (ctx.params[AUGMENT_FILE]?.['augment'] as { profiles?: object } | undefined)?.profiles;
  if (typeof profile !== 'string' && profiles && Object.keys(profiles).length > 0) {
    console.error(`augment-cache: list ${TRAINING_FILE}: [profile] under the stage's params in pipeline.yaml (${AUGMENT_FILE} augment.profiles follow it)`);
    return 2;
  }
  const parsed = parseAugmentConfig(ctx.params[AUGMENT_FILE]?.['augment'], { name: AUGMENT_FILE, abs: ctx.abs(AUGMENT_FILE) }, typeof profile === 'string' ? profile : 'base');
  if (!parsed.ok) { console.error(parsed.message); return 2; }
  // Checked against training.schema.json before the stage starts; the engine hands over only the listed key.
  const size = ((ctx.params[TRAINING_FILE]?.['model'] ?? {}) as { input_size?: unknown }).input_size;
  if (size === undefined) {
    console.error(`augment-cache: list ${TRAINING_FILE}: [model.input_size] under the stage's params in pipeline.yaml (the size it resizes to)`);
    return 2;
  }
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 8) {
    console.error(`${TRAINING_FILE}: model.input_size must be an integer >= 8, got ${JSON.stringify(size)}`);
    return 2;
  }
  // source_weights.evaluated goes to the source split.evaluate_on names.
  const evaluated = evaluatedSource(ctx.params[DATA_FILE], ctx.abs(DATA_FILE), DATA_FILE);
  if (!evaluated.ok) { console.error(evaluated.message); return 2; }
  const cacheDir = ctx.out('augment-cache');
  // --force: from scratch, the cached blobs included.
  if (ctx.force) rmSync(join(cacheDir, BLOB_DIR), { recursive: true, force: true });
  try {
    const summary = await buildAugmentCache({ datasetDir: ctx.dep('dataset'), cacheDir, root: ctx.root, size, config: parsed.config, evaluated: evaluated.value, code: ctx.codeFingerprint ?? BY_HAND });
    if (ctx.metrics) writeMetrics(ctx.abs(ctx.metrics), summary);
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
