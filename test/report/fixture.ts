// A small, deterministic evaluation to build reports from: 8 parts, 4 colors, 64 test images
// (solid-colour squares) and a "model" whose logits are right most of the time, with a
// deliberate 3001 <-> 3003 and light/dark bluish gray confusion.
import { defaultEvaluationOptions, evaluateClassifier } from '../../src/ml/metrics/evaluate-classifier.ts';
import { flatMetrics, type HeadLabels } from '../../src/ml/metrics/metrics-file.ts';
import type { ReportInput } from '../../src/ml/report/write-report.ts';
import { createRng } from '../../src/ml/random.ts';
import type { RgbImage } from '../../src/ml/report/thumbnails.ts';
import type { TrainingHistory } from '../../src/ml/report/training-history.ts';
import { learnedTable } from '../../src/ml/report/learned-table.ts';

export const labels: HeadLabels = {
  parts: ['3001', '3003', '3004', '3020', '3022', '3023', '3069b', '3710'],
  colors: [
    { id: 0, name: 'Black', rgb: '05131D' },
    { id: 4, name: 'Red', rgb: 'C91A09' },
    { id: 71, name: 'Light Bluish Gray', rgb: 'A0A5A9' },
    { id: 72, name: 'Dark Bluish Gray', rgb: '6C6E68' },
  ],
};

export function reportInput(overrides: Partial<ReportInput> = {}): ReportInput {
  const random = createRng(42);
  const n = 64;
  const nParts = labels.parts.length;
  const nColors = labels.colors.length;
  // Part 3710 (index 7) is absent from the test split; sample i has part i % 7.
  const partIndex = Int32Array.from({ length: n }, (_, i) => i % 7);
  const colorIndex = Int32Array.from({ length: n }, (_, i) => (i % 9 === 0 ? -1 : i % nColors));
  const partLogits = new Float32Array(n * nParts);
  const colorLogits = new Float32Array(n * nColors);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < nParts; j++) partLogits[i * nParts + j] = random();
    for (let j = 0; j < nColors; j++) colorLogits[i * nColors + j] = random();
    let p = partIndex[i]!;
    if (p === 0 && i % 3 === 0) p = 1; // 3001 read as 3003
    else if (random() < 0.08) p = (p + 2) % nParts;
    partLogits[i * nParts + p] += 3;
    const c = colorIndex[i]!;
    if (c >= 0) colorLogits[i * nColors + (c === 3 && i % 2 === 1 ? 2 : c)] += 3;
  }
  const options = { ...defaultEvaluationOptions, resamples: 400 };
  const evaluation = evaluateClassifier({ partLogits, colorLogits, partIndex, colorIndex, nParts, nColors }, options);
  const image = (sample: number): RgbImage => {
    const w = 32;
    const data = new Uint8Array(w * w * 3);
    const rgb = labels.colors[Math.max(0, colorIndex[sample]!)]!.rgb!;
    for (let k = 0; k < w * w; k++) {
      const inBrick = k % w > 4 && k % w < 28 && k / w > 8 && k / w < 24;
      for (let ch = 0; ch < 3; ch++) data[k * 3 + ch] = inBrick ? parseInt(rgb.slice(ch * 2, ch * 2 + 2), 16) : 255;
    }
    return { data, width: w, height: w };
  };
  const history: TrainingHistory = {
    ok: true,
    source: 'fixture',
    points: Array.from({ length: 6 }, (_, k) => [
      { epoch: k + 1, series: 'loss', value: 2 / (k + 1) },
      { epoch: k + 1, series: 'val_loss', value: 2.2 / (k + 1) + 0.1 },
      { epoch: k + 1, series: 'val_part_acc', value: 0.5 + k * 0.07 },
    ]).flat(),
  };
  return {
    evaluation,
    options,
    flat: flatMetrics(evaluation, labels),
    labels,
    targets: [
      { metric: 'part_top1', op: '>=', target: 0.9, text: '>= 0.90' },
      { metric: 'part_top5', op: '>=', target: 0.98, text: '>= 0.98' },
      { metric: 'color_acc', op: '>=', target: 0.85, text: '>= 0.85' },
    ],
    image,
    samplePath: (s) => `data/synthetic/real/${labels.parts[partIndex[s]!]}/img_${s}.png`,
    history,
    // Renders not learned, b200c fitted but untested, real captures fitted 30 points above test.
    learned: {
      ok: true,
      tested: 'real',
      rows: learnedTable(
        {
          legacy: { part_top1: 0.25, color_acc: 0.5, n: 64 },
          b200c: { part_top1: 0.8, color_acc: null, n: 64 },
          real: { part_top1: Math.min(1, evaluation.partTop1.value! + 0.3), color_acc: 0.95, n: 64 },
        },
        { source: 'real', partTop1: evaluation.partTop1.value, colorAcc: evaluation.colorAccuracy.value },
      ),
    },
    ...overrides,
  };
}
