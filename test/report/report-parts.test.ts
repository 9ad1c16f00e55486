import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { renderSvg, svgToPng } from '../../src/ml/charts/render-chart.ts';
import { confusionSpec } from '../../src/ml/report/chart-specs.ts';
import { renderReportHtml, escapeHtml } from '../../src/ml/report/html.ts';
import { historyFromJson } from '../../src/ml/report/training-history.ts';
import { gatePasses } from '../../src/ml/report/write-report.ts';

describe('chart rendering', () => {
  it('renders a vega-lite heatmap to an SVG with a size and to a PNG twice that size', async () => {
    const svg = await renderSvg(confusionSpec([[3, 1], [0, 2]], ['3001', '3003'], 'parts'));
    const width = Number(/<svg[^>]*width="(\d+)"/.exec(svg)?.[1]);
    expect(width).toBeGreaterThan(50);
    expect(svg).toContain('3001');
    const png = await sharp(await svgToPng(svg, 2)).metadata();
    expect(png.format).toBe('png');
    expect(png.width).toBe(width * 2);
  });
});

describe('training history reader', () => {
  it('reads per-epoch records under detail.epochs', () => {
    const h = historyFromJson({ val_part_acc: 0.8, detail: { epochs: [{ epoch: 1, loss: 2, val_part_acc: 0.5 }, { epoch: 2, loss: 1, val_part_acc: 0.8, note: 'x' }] } }, 'train.json');
    expect(h).toEqual({
      ok: true,
      source: 'train.json',
      points: [
        { epoch: 1, series: 'loss', value: 2 },
        { epoch: 1, series: 'val_part_acc', value: 0.5 },
        { epoch: 2, series: 'loss', value: 1 },
        { epoch: 2, series: 'val_part_acc', value: 0.8 },
      ],
    });
  });

  it("reads the train stage's top-level history of epoch records", () => {
    const record = { epoch: 1, train_loss: 2.5, train_part_loss: 2, train_color_loss: 1, val_part_top1: 0.3, val_part_top5: 0.6, val_color_acc: 0.4, lr: 1e-4, images_per_sec: 30, seconds: 12 };
    const h = historyFromJson({ val_part_top1: 0.3, epochs_run: 1, history: [record] }, 'train.json');
    expect(h.ok && h.points.find((p) => p.series === 'val_part_top1')).toEqual({ epoch: 1, series: 'val_part_top1', value: 0.3 });
    expect(h.ok && h.points.length).toBe(9);
  });

  it('reads Keras-style series of numbers by name', () => {
    const h = historyFromJson({ history: { loss: [3, 2], val_loss: [4, 3] } }, 't');
    expect(h.ok && h.points.filter((p) => p.series === 'val_loss').map((p) => [p.epoch, p.value])).toEqual([[1, 4], [2, 3]]);
  });

  it('says what it looked for when there is no history', () => {
    const h = historyFromJson({ part_top1: 0.9 }, 'artifacts/metrics/train.json');
    expect(h.ok).toBe(false);
    expect(!h.ok && h.reason).toContain('artifacts/metrics/train.json has no per-epoch history');
  });
});

describe('report HTML', () => {
  it('escapes class names so a strange label cannot break the page', () => {
    expect(escapeHtml('<b>"3001" & co</b>')).toBe('&lt;b&gt;&quot;3001&quot; &amp; co&lt;/b&gt;');
    const html = renderReportHtml({
      title: 't', generatedAt: 'now', facts: [], targets: [], learned: { missing: 'none' }, worstPartNote: '', headlineChart: { file: 'h.svg', alt: 'h' }, training: { missing: 'none' },
      partConfusion: { file: 'c.svg', alt: 'c' }, colorConfusion: null, partPairs: [], colorPairs: [], partAccuracyChart: { file: 'a.svg', alt: 'a' },
      perPart: [{ name: '<script>alert(1)</script>', support: 1, correct: 1, accuracy: 1, low: 0.2, high: 1, precision: 1, f1: 1 }], perColor: [], worst: [], notes: [],
    });
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
  });

  it('treats a missing metric as a failed gate', () => {
    expect(gatePasses(null, { metric: 'color_acc', op: '>=', target: 0.85, text: '>= 0.85' })).toBe(false);
    expect(gatePasses(0.85, { metric: 'color_acc', op: '>=', target: 0.85, text: '>= 0.85' })).toBe(true);
    expect(gatePasses(0.85, { metric: 'color_acc', op: '>', target: 0.85, text: '> 0.85' })).toBe(false);
  });
});

describe('training curves chart', () => {
  it('draws losses and accuracies but leaves out series on other scales', async () => {
    const { trainingCurvesSpec } = await import('../../src/ml/report/chart-specs.ts');
    const points = [1, 2].flatMap((epoch) => [
      { epoch, series: 'train_loss', value: 2 / epoch },
      { epoch, series: 'val_part_top1', value: 0.4 * epoch },
      { epoch, series: 'lr', value: 1e-4 },
      { epoch, series: 'images_per_sec', value: 35 },
    ]);
    const svg = await renderSvg(trainingCurvesSpec(points));
    expect(svg).toContain('train_loss');
    expect(svg).toContain('val_part_top1');
    expect(svg).not.toContain('images_per_sec');
    expect(svg).not.toMatch(/>lr</);
  });
});
