// Stage augment-cache: artifacts/dataset -> artifacts/augment-cache (K augmented variants per
// training image, val/test resized), at config/training.yaml's model.input_size.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { readStageContext, findProjectRoot, type StageContext } from '../src/engine/stage-context.ts';
import { buildAugmentCache } from '../src/ml/augment/build-cache.ts';
import { parseAugmentConfig } from '../src/ml/augment/config.ts';
import { DatasetFormatError } from '../src/ml/augment/dataset-input.ts';

const AUGMENT_FILE = 'config/augment.yaml';
const TRAINING_FILE = 'config/training.yaml';
const DEFAULT_INPUT_SIZE = 64;

interface StageInputs { root: string; augment: unknown; inputSize: unknown; datasetDir: string; cacheDir: string }

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
  try {
    await buildAugmentCache({ datasetDir: inputs.datasetDir, cacheDir: inputs.cacheDir, root: inputs.root, size, config: parsed.config });
  } catch (err) {
    if (err instanceof DatasetFormatError) { console.error(err.message); return 1; }
    throw err;
  }
  return 0;
}

process.exitCode = await main();
