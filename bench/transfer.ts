/**
 * Transfer from renders to the real-look source (issue 17 item 1): the project's cpu-profile
 * model trained on the rendered sources ONLY, scored on the real-look val split, beside the
 * same budget trained on the real-look source only. Each model is also scored on images it
 * trained on and on held-out renders, so "did not fit renders" and "fit renders but does not
 * transfer" read apart. Reads a finished demo checkout's artifacts (augment cache, configs);
 * writes nothing there (checkpoints go to a temporary folder).
 *
 *   node --import tsx bench/transfer.ts [--project DIR] [--epochs 4] [--epoch-size 1024] [--hold-out 0.15]
 *
 * The training is stages/train.ts's: config/training.yaml's cpu profile, the same loop, loss,
 * curriculum and seed; only the epoch count and samples per epoch are cut to the stated budget.
 * Model selection (the loop keeps its best epoch) runs on a held-out part of each model's own
 * training sources, never on the real-look val split it is scored on.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readStageContext } from '../src/engine/stage-context.ts';
import { readAugmentCache, type CachedSplit } from '../src/ml/augment-cache-reader.ts';
import { selectBackend } from '../src/ml/backend/select-backend.ts';
import { collectLogits } from '../src/ml/metrics/collect-logits.ts';
import { predictedClass } from '../src/ml/metrics/ranking.ts';
import { evaluatedSource } from '../src/ml/dataset/data-config.ts';
import { buildClassifier } from '../src/ml/model/classifier.ts';
import { freezeLayers, layersToFreeze } from '../src/ml/model/freezing.ts';
import { withSeededMathRandom } from '../src/ml/random.ts';
import { evaluateSplit, type SplitScores } from '../src/ml/train/evaluate-split.ts';
import { loadPretrained } from '../src/ml/train/pretrained.ts';
import { holdOutOriginals, selectRows, selectSources } from '../src/ml/train/source-subset.ts';
import { trainLoop } from '../src/ml/train/train-loop.ts';
import { resolveTrainingConfig } from '../src/ml/train/training-config.ts';

const { values } = parseArgs({
  options: {
    project: { type: 'string', default: process.cwd() },
    epochs: { type: 'string', default: '4' },
    'epoch-size': { type: 'string', default: '1024' },
    'hold-out': { type: 'string', default: '0.15' },
  },
});
const project = resolve(values.project);
const epochs = Number(values.epochs);
const epochSize = Number(values['epoch-size']);
const holdOut = Number(values['hold-out']);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`project ${project}; load average at start ${load()}`);

// The project's own stage declarations and configs, read as the stages read them.
const env = { PIPELINE_ROOT: project };
const train = readStageContext('train', env);
const evaluate = readStageContext('evaluate', env);
const resolved = resolveTrainingConfig(train.params['config/training.yaml'] ?? {}, { name: 'config/training.yaml', abs: train.abs('config/training.yaml') });
if (!resolved.ok) throw new Error(resolved.errors.join('\n'));
const cfg = resolved.config;
const source = evaluatedSource(evaluate.params['config/data.yaml'], evaluate.abs('config/data.yaml'), 'config/data.yaml');
if (!source.ok) throw new Error(source.message);
const real = source.value;
await selectBackend(cfg.backend);

const cache = readAugmentCache(train.dep('augment-cache'));
const renderSources = [...new Set(cache.train.source)].filter((s) => s !== real).sort();
const renders = holdOutOriginals(selectRows(cache.train, (i) => cache.train.source[i] !== real), holdOut, 'bench-transfer renders');
const realTrain = holdOutOriginals(selectSources(cache.train, [real]), holdOut, 'bench-transfer real');
const realVal = selectSources(cache.val, [real]);
const nParts = cache.labels.parts.length;
const nColors = cache.labels.colors.length;
/** A fixed sample of a training set's rows (its originals' variants), to read how well it was fit. */
const fitSample = (s: CachedSplit) => holdOutOriginals(s, Math.min(0.99, 600 / Math.max(1, s.n)), 'bench-transfer fit').heldOut;

const originals = (s: CachedSplit) => new Set(s.path).size;
console.log(`renders (${renderSources.join(', ')}): ${renders.kept.n} cached variants of ${originals(renders.kept)} images to train on, ${renders.heldOut.n} of ${originals(renders.heldOut)} held out`);
console.log(`${real}: ${realTrain.kept.n} variants of ${originals(realTrain.kept)} train images, ${realTrain.heldOut.n} of ${originals(realTrain.heldOut)} held out; val ${realVal.n} images`);
const loop = { ...cfg.loop, epochs, epochSize, patience: epochs };
console.log(`budget per model: profile '${cfg.profile}', ${epochs} epochs x ${epochSize} samples (${epochs * epochSize} samples, batch ${loop.batchSize}, lr ${loop.lr}), seed ${loop.seed}, curriculum ${loop.curriculum.enabled ? 'on (over the sources present)' : 'off'}`);

interface Row { name: string; seconds: number; bestEpoch: number; fit: SplitScores; heldRenders: SplitScores; heldReal: SplitScores; val: SplitScores; mostCalled: { part: string; n: number } }

/** The part the model names most often on `split`: a shortcut (e.g. a background) shows as one part taking most images. */
async function mostCalledPart(model: Parameters<typeof evaluateSplit>[0], split: CachedSplit): Promise<{ part: string; n: number }> {
  const logits = await collectLogits(model, split, Array.from({ length: split.n }, (_, i) => i), loop.batchSize);
  const counts = new Array<number>(nParts).fill(0);
  for (let i = 0; i < split.n; i++) counts[predictedClass(logits.partLogits, logits.nParts, i, split.partIndex[i]!)]!++;
  const top = counts.indexOf(Math.max(...counts));
  return { part: cache.labels.parts[top]!, n: counts[top]! };
}

async function experiment(name: string, trainOn: CachedSplit, select: CachedSplit): Promise<Row> {
  const { model, backbones } = withSeededMathRandom(loop.seed, () => buildClassifier({ ...cfg.model, nParts, nColors }));
  const pretrained = await loadPretrained(model, backbones.length === 2 ? ['part_', 'color_'] : [''], cfg.model.pretrained, project);
  if (!pretrained.ok) throw new Error(pretrained.message);
  freezeLayers(model, backbones.flatMap((b) => layersToFreeze(b, cfg.model.freezeBackboneRatio)));
  const stateDir = await mkdtemp(join(tmpdir(), 'bench-transfer-'));
  const started = performance.now();
  try {
    const out = await trainLoop({ model, train: trainOn, val: select, config: loop, stateDir, fingerprint: name, log: (l) => console.log(`  [${name}] ${l}`), progress: { isTTY: false, write: () => {} } });
    const seconds = (performance.now() - started) / 1000;
    const score = (s: CachedSplit) => evaluateSplit(model, s, loop.batchSize);
    return { name, seconds, bestEpoch: out.bestEpoch, fit: await score(fitSample(trainOn)), heldRenders: await score(renders.heldOut), heldReal: await score(realTrain.heldOut), val: await score(realVal), mostCalled: await mostCalledPart(model, realVal) };
  } finally {
    model.dispose();
    await rm(stateDir, { recursive: true, force: true });
  }
}

const rows: Row[] = [];
console.log(`training on renders only (${renderSources.join(' + ')}), best epoch chosen on held-out renders`);
rows.push(await experiment('renders only', renders.kept, renders.heldOut));
console.log(`training on ${real} only, best epoch chosen on held-out ${real} train images`);
rows.push(await experiment(`${real} only`, realTrain.kept, realTrain.heldOut));

const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);
const three = (s: SplitScores) => `${pct(s.part_top1)} / ${pct(s.part_top5)} / ${pct(s.color_acc)}`;
console.log(`\nscores: part top-1 / top-5 / color (n images)`);
console.log(`| trained on | sample of its training images | held-out renders (n=${renders.heldOut.n}) | held-out ${real} train (n=${realTrain.heldOut.n}) | ${real} val (n=${realVal.n}) | best epoch | train s |`);
console.log('|---|---|---|---|---|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.name} | ${three(r.fit)} (n=${r.fit.n}) | ${three(r.heldRenders)} | ${three(r.heldReal)} | ${three(r.val)} | ${r.bestEpoch}/${epochs} | ${r.seconds.toFixed(0)} |`);
}
const chance = `${pct(1 / nParts)} / ${pct(Math.min(1, 5 / nParts))} / ${pct(1 / nColors)}`;
console.log(`| chance (1/${nParts} parts, 5/${nParts}, 1/${nColors} colors) | ${chance} | ${chance} | ${chance} | ${chance} | | |`);
const [rendersOnly, realOnly] = rows as [Row, Row];
console.log(`\ntransfer: renders-only on ${real} val part top-1 ${pct(rendersOnly.val.part_top1)} = ${(rendersOnly.val.part_top1 * nParts).toFixed(2)}x chance; ` +
  `${real}-only ${pct(realOnly.val.part_top1)}; renders-only fits its renders at ${pct(rendersOnly.fit.part_top1)} and held-out renders at ${pct(rendersOnly.heldRenders.part_top1)}`);
for (const r of rows) console.log(`${r.name}: names part ${r.mostCalled.part} for ${r.mostCalled.n} of ${realVal.n} ${real} val images (the most-named part)`);
console.log(`load average at end ${load()} (2 cores)`);
