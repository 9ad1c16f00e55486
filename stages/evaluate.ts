// The evaluate stage: the trained model on the real test split -> artifacts/metrics/evaluate.json
// (flat numbers for the gates, detail nested) and the HTML report in artifacts/reports/evaluate.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { readStageContext } from '../src/engine/stage-context.ts';
import { AugmentCacheError, readAugmentCache, sampleImage, type Labels } from '../src/ml/augment-cache-reader.ts';
import { Progress } from '../src/ml/progress.ts';
import { selectBackend } from '../src/ml/backend/select-backend.ts';
import { ModelOutputError } from '../src/ml/metrics/collect-logits.ts';
import { parseEvaluationOptions } from '../src/ml/metrics/evaluation-config.ts';
import { evaluateTestSplit } from '../src/ml/metrics/evaluate-split.ts';
import { describeGrouping, hasColorLabels } from '../src/ml/metrics/split-facts.ts';
import { flatMetrics, metricsFile, NO_COLOR_LABELS } from '../src/ml/metrics/metrics-file.ts';
import { evaluatedSource, type DataConfig } from '../src/ml/dataset/data-config.ts';
import { loadModel } from '../src/ml/model/model-io.ts';
import { formatInterval, formatRate } from '../src/ml/report/html.ts';
import { readTrainingHistory, type TrainingHistory } from '../src/ml/report/training-history.ts';
import { readLearnedTable } from '../src/ml/report/learned-table.ts';
import { gatePasses, writeEvaluationReport } from '../src/ml/report/write-report.ts';

const EVALUATE_FILE = 'config/evaluate.yaml';
const DATA_CONFIG = 'config/data.yaml';
const BATCH_SIZE = 32;

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
  const parsed = parseEvaluationOptions(ctx.params[EVALUATE_FILE]?.['evaluate'], { name: EVALUATE_FILE, abs: ctx.abs(EVALUATE_FILE) });
  if (!parsed.ok) {
    for (const e of parsed.errors) console.error(`evaluate: ${e}`);
    return 2;
  }
  const options = parsed.options;
  if (!ctx.metrics) {
    console.error('evaluate: pipeline.yaml gives the stage no metrics: file for the gates to read');
    return 2;
  }
  const source = evaluatedSource(ctx.params[DATA_CONFIG], ctx.abs(DATA_CONFIG), DATA_CONFIG);
  if (!source.ok) {
    console.error(source.message);
    return 2;
  }
  const evaluated = source.value;
  const groupBy = (ctx.params[DATA_CONFIG] as DataConfig | undefined)?.split?.group_by;
  // Without a summary dep there is no grouping to report beyond split.group_by.
  const summaryFile = ctx.optionalDep('summary') ?? '';
  await selectBackend('auto');

  const modelDir = ctx.dep('model');
  const cacheDir = ctx.dep('augment-cache');
  const reportDir = ctx.out('report');
  const trainMetrics = ctx.optionalDep('train-metrics');
  // As pipeline.yaml names them, for messages.
  const [modelName, cacheName, reportName] = [modelDir, cacheDir, reportDir].map((d) => relative(ctx.root, d));
  if (!existsSync(join(modelDir, 'model.json'))) {
    console.error(`${modelName}/model.json does not exist; run the train stage first`);
    return 1;
  }
  const model = await loadModel(modelDir);
  const labelsFile = join(modelDir, 'labels.json');
  if (!existsSync(labelsFile)) {
    console.error(`${modelName}/labels.json does not exist; the train stage copies it from the dataset`);
    return 1;
  }
  const modelLabels = readLabels(labelsFile);
  let cache;
  try {
    cache = readAugmentCache(cacheDir);
  } catch (e) {
    if (e instanceof AugmentCacheError) {
      console.error(e.message);
      return 1;
    }
    throw e;
  }
  const mismatch = labelMismatch(modelLabels, cache.labels);
  if (mismatch) {
    console.error(`${modelName}/labels.json and ${cacheName}/labels.json disagree: ${mismatch}; retrain on the current cache`);
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
      console.error(`${modelName}/model.json: ${e.message}`);
      return 1;
    }
    throw e;
  }
  if (!result.ok) {
    console.error(`${cacheName}: ${result.message}`);
    return 1;
  }
  const { evaluation, rows, leftOut } = result.value;
  const evaluatedMs = performance.now() - started;
  if (leftOut > 0) console.log(`evaluate: left out ${leftOut} test images that are not from "${evaluated}" (split.evaluate_on)`);

  const samplePath = (i: number) => test.path[rows[i]!] ?? `test #${rows[i]}`;
  const metrics = metricsFile(evaluation, labels, options, samplePath, `test (images of source "${evaluated}" only, split.evaluate_on)`);
  const flat = flatMetrics(evaluation, labels);
  const metricsPath = ctx.abs(ctx.metrics);
  await mkdir(dirname(metricsPath), { recursive: true });
  await writeFile(metricsPath, `${JSON.stringify(metrics, null, 2)}\n`);

  const targets = ctx.gates;
  const history: TrainingHistory = trainMetrics
    ? readTrainingHistory(trainMetrics)
    : { ok: false, reason: 'pipeline.yaml gives evaluate no train-metrics dep' };
  const report = await writeEvaluationReport(reportDir, {
    evaluation,
    options,
    flat,
    labels,
    targets,
    image: (i) => ({ data: sampleImage(test, rows[i]!), width: test.width, height: test.height }),
    samplePath,
    history: history.ok && trainMetrics ? { ...history, source: relative(ctx.root, trainMetrics) } : history,
    learned: {
      ...(trainMetrics
        ? readLearnedTable(trainMetrics, { source: evaluated, partTop1: evaluation.partTop1.value, colorAcc: labels.part_only ? null : evaluation.colorAccuracy.value })
        : { ok: false, reason: 'pipeline.yaml gives evaluate no train-metrics dep' }),
      tested: evaluated,
    },
    facts: [
      ['model', `${modelName} (${model.name}, input ${test.width}x${test.height})`],
      ['test split', `${cacheName}, ${rows.length} images of source "${evaluated}"${leftOut ? `, ${leftOut} others left out` : ''}`],
      ['split grouped by', describeGrouping(groupBy, summaryFile)],
    ],
  });

  const reportMs = performance.now() - started - evaluatedMs;
  console.log(`evaluate: inference + metrics ${(evaluatedMs / 1000).toFixed(1)} s (${((evaluation.n * 1000) / evaluatedMs).toFixed(1)} images/s), report ${(reportMs / 1000).toFixed(1)} s`);
  console.log(`evaluate: ${evaluation.n} test images of "${evaluated}"; metrics in ${ctx.metrics}, report in ${reportName}/index.html (${report.files.length} files)`);
  for (const name of ['part_top1', 'part_top5', 'color_acc', 'part_macro_acc', 'color_macro_acc', 'worst_part_recall']) {
    const gate = targets.find((t) => t.metric === name);
    const value = flat[name] ?? null;
    if (labels.part_only && name.startsWith('color_')) {
      console.log(`  ${name.padEnd(16)} n/a — ${NO_COLOR_LABELS}${gate ? ` (gate ${gate.text} does not apply)` : ''}`);
      continue;
    }
    const verdict = gate ? `${gate.text.padEnd(8)} ${gatePasses(value, gate) ? 'pass' : 'MISS'}` : '';
    console.log(`  ${name.padEnd(16)} ${formatRate(value).padStart(6)}  95% CI ${formatInterval(flat[`${name}_ci_low`], flat[`${name}_ci_high`]).padEnd(15)} ${verdict}`);
  }
  console.log(`  worst_part_recall counts ${evaluation.worstPartRecall.eligibleParts} part(s); ${evaluation.worstPartRecall.excludedParts} with fewer than ${options.worstPartMinTestImages} test images left out`);
  if (!labels.part_only) console.log(`  color_unknown_count ${evaluation.colorUnknownCount} (left out of color accuracy)`);
  return 0;
}

process.exitCode = await main();
