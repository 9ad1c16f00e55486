// The evaluate stage: the trained model on the real test split -> artifacts/metrics/evaluate.json
// (flat numbers for the gates, detail nested) and the HTML report in artifacts/reports/evaluate.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadPipeline } from '../src/engine/pipeline-config.ts';
import { readStageContext } from '../src/engine/stage-context.ts';
import { AugmentCacheError, readAugmentCache, sampleImage, type Labels } from '../src/ml/augment-cache-reader.ts';
import { Progress } from '../src/ml/progress.ts';
import { selectBackend } from '../src/ml/backend/select-backend.ts';
import { ModelOutputError } from '../src/ml/metrics/collect-logits.ts';
import { defaultEvaluationOptions, type EvaluationOptions } from '../src/ml/metrics/evaluate-classifier.ts';
import { evaluateTestSplit } from '../src/ml/metrics/evaluate-split.ts';
import { describeGrouping, hasColorLabels } from '../src/ml/metrics/split-facts.ts';
import { flatMetrics, metricsFile, NO_COLOR_LABELS } from '../src/ml/metrics/metrics-file.ts';
import { evaluatedSource, type DataConfig } from '../src/ml/dataset/data-config.ts';
import { loadModel } from '../src/ml/model/model-io.ts';
import { formatInterval, formatRate } from '../src/ml/report/html.ts';
import { readTrainingHistory } from '../src/ml/report/training-history.ts';
import { gatePasses, writeEvaluationReport, type Target } from '../src/ml/report/write-report.ts';

const MODEL_DIR = 'artifacts/model';
const CACHE_DIR = 'artifacts/augment-cache';
const REPORT_DIR = 'artifacts/reports/evaluate';
const TRAIN_METRICS = 'artifacts/metrics/train.json';
const DATA_CONFIG = 'config/data.yaml';
const DATASET_SUMMARY = 'artifacts/dataset/summary.json';
const BATCH_SIZE = 32;

/** Optional `evaluate:` params (e.g. {bootstrap_resamples: 2000, seed: 1}); defaults otherwise. */
function evaluationOptions(params: Record<string, unknown>): EvaluationOptions {
  const section = Object.values(params).map((p) => (p as { evaluate?: Record<string, unknown> }).evaluate).find(Boolean) ?? {};
  const num = (key: string, fallback: number) => (typeof section[key] === 'number' ? (section[key] as number) : fallback);
  const d = defaultEvaluationOptions;
  return {
    topK: num('top_k', d.topK),
    resamples: num('bootstrap_resamples', d.resamples),
    confidence: num('confidence', d.confidence),
    seed: num('seed', d.seed),
    pairLimit: num('confused_pairs', d.pairLimit),
    worstLimit: num('worst_examples', d.worstLimit),
  };
}

/** The gates pipeline.yaml declares on this stage, shown as targets in the report. */
function declaredTargets(root: string, stage: string): { targets: Target[]; note?: string } {
  const loaded = loadPipeline(join(root, 'pipeline.yaml'));
  if (!loaded.ok) return { targets: [], note: `pipeline.yaml did not load, so the report shows no targets` };
  const decl = loaded.value.stages.find((s) => s.name === stage);
  return { targets: decl?.gates.map((g) => ({ metric: g.metric, op: g.op, target: g.target, text: g.text })) ?? [] };
}

function readLabels(file: string): Labels {
  return JSON.parse(readFileSync(file, 'utf8')) as Labels;
}

/** The model and the cache must share the class order, or every index means something else. */
function labelMismatch(model: Labels, cache: Labels): string | null {
  if (JSON.stringify(model.parts) !== JSON.stringify(cache.parts)) return `parts differ (${model.parts.length} in the model, ${cache.parts.length} in the cache)`;
  const ids = (l: Labels) => JSON.stringify(l.colors.map((c) => c.id));
  if (ids(model) !== ids(cache)) return `colors differ (${model.colors.length} in the model, ${cache.colors.length} in the cache)`;
  return null;
}

async function main(): Promise<number> {
  const ctx = readStageContext('evaluate');
  const options = evaluationOptions(ctx.params);
  const source = evaluatedSource(ctx.params[DATA_CONFIG], ctx.abs(DATA_CONFIG), DATA_CONFIG);
  if (!source.ok) {
    console.error(source.message);
    return 2;
  }
  const evaluated = source.value;
  const groupBy = (ctx.params[DATA_CONFIG] as DataConfig | undefined)?.split?.group_by;
  await selectBackend('auto');

  const modelDir = ctx.abs(MODEL_DIR);
  if (!existsSync(join(modelDir, 'model.json'))) {
    console.error(`${MODEL_DIR}/model.json does not exist; run the train stage first`);
    return 1;
  }
  const model = await loadModel(modelDir);
  const labelsFile = join(modelDir, 'labels.json');
  if (!existsSync(labelsFile)) {
    console.error(`${MODEL_DIR}/labels.json does not exist; the train stage copies it from the dataset`);
    return 1;
  }
  const modelLabels = readLabels(labelsFile);
  let cache;
  try {
    cache = readAugmentCache(ctx.abs(CACHE_DIR));
  } catch (e) {
    if (e instanceof AugmentCacheError) {
      console.error(e.message);
      return 1;
    }
    throw e;
  }
  const mismatch = labelMismatch(modelLabels, cache.labels);
  if (mismatch) {
    console.error(`${MODEL_DIR}/labels.json and ${CACHE_DIR}/labels.json disagree: ${mismatch}; retrain on the current cache`);
    return 1;
  }

  // No known color anywhere (or a model trained so): color is n/a, never a 0% or a FAIL.
  const labels = { ...modelLabels, part_only: modelLabels.part_only === true || !hasColorLabels(cache) };
  const test = cache.test;
  const started = performance.now();
  const progress = new Progress('evaluate', test.source.filter((s) => s === evaluated).length);
  let shown = 0;
  let result;
  try {
    result = await evaluateTestSplit({
      model, split: test, options, batchSize: BATCH_SIZE, source: evaluated,
      onBatch: (done) => { progress.tick(done - shown); shown = done; },
    });
  } catch (e) {
    if (e instanceof ModelOutputError) {
      console.error(`${MODEL_DIR}/model.json: ${e.message}`);
      return 1;
    }
    throw e;
  }
  if (!result.ok) {
    console.error(`${CACHE_DIR}: ${result.message}`);
    return 1;
  }
  const { evaluation, rows, leftOut } = result.value;
  const evaluatedMs = performance.now() - started;
  if (leftOut > 0) console.log(`evaluate: left out ${leftOut} test images that are not from "${evaluated}" (split.evaluate_on)`);

  const samplePath = (i: number) => test.path[rows[i]!] ?? `test #${rows[i]}`;
  const metrics = metricsFile(evaluation, labels, options, samplePath, `test (images of source "${evaluated}" only, split.evaluate_on)`);
  const flat = flatMetrics(evaluation, labels);
  const metricsPath = ctx.abs(ctx.metrics ?? 'artifacts/metrics/evaluate.json');
  await mkdir(dirname(metricsPath), { recursive: true });
  await writeFile(metricsPath, `${JSON.stringify(metrics, null, 2)}\n`);

  const { targets, note } = declaredTargets(ctx.root, ctx.stage);
  if (note) console.log(`evaluate: ${note}`);
  const history = readTrainingHistory(ctx.abs(TRAIN_METRICS));
  const report = await writeEvaluationReport(ctx.abs(REPORT_DIR), {
    evaluation,
    options,
    flat,
    labels,
    targets,
    image: (i) => ({ data: sampleImage(test, rows[i]!), width: test.width, height: test.height }),
    samplePath,
    history: history.ok ? { ...history, source: TRAIN_METRICS } : history,
    facts: [
      ['model', `${MODEL_DIR} (${model.name}, input ${test.width}x${test.height})`],
      ['test split', `${CACHE_DIR}, ${rows.length} images of source "${evaluated}"${leftOut ? `, ${leftOut} others left out` : ''}`],
      ['split grouped by', describeGrouping(groupBy, ctx.abs(DATASET_SUMMARY))],
    ],
  });

  const reportMs = performance.now() - started - evaluatedMs;
  console.log(`evaluate: inference + metrics ${(evaluatedMs / 1000).toFixed(1)} s (${((evaluation.n * 1000) / evaluatedMs).toFixed(1)} images/s), report ${(reportMs / 1000).toFixed(1)} s`);
  console.log(`evaluate: ${evaluation.n} test images of "${evaluated}"; metrics in ${ctx.metrics ?? 'artifacts/metrics/evaluate.json'}, report in ${REPORT_DIR}/index.html (${report.files.length} files)`);
  for (const name of ['part_top1', 'part_top5', 'color_acc', 'part_macro_acc', 'color_macro_acc']) {
    const gate = targets.find((t) => t.metric === name);
    const value = flat[name] ?? null;
    if (labels.part_only && name.startsWith('color_')) {
      console.log(`  ${name.padEnd(16)} n/a — ${NO_COLOR_LABELS}${gate ? ` (gate ${gate.text} does not apply)` : ''}`);
      continue;
    }
    const verdict = gate ? `${gate.text.padEnd(8)} ${gatePasses(value, gate) ? 'pass' : 'MISS'}` : '';
    console.log(`  ${name.padEnd(16)} ${formatRate(value).padStart(6)}  95% CI ${formatInterval(flat[`${name}_ci_low`], flat[`${name}_ci_high`]).padEnd(15)} ${verdict}`);
  }
  if (!labels.part_only) console.log(`  color_unknown_count ${evaluation.colorUnknownCount} (left out of color accuracy)`);
  return 0;
}

process.exitCode = await main();
