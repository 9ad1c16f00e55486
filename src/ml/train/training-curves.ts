/**
 * The training-curve picture: per-epoch train loss and val accuracies drawn with
 * vega-lite, rendered headless to SVG by vega, and rasterised to PNG by sharp.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import sharp from 'sharp';
import { writeFile } from 'node:fs/promises';
import { replaceFile } from '../../engine/atomic-write.ts';
import type { EpochRecord } from './history.ts';

/** Render `history` to a PNG at `pngPath` (written atomically); returns the SVG text. */
export async function renderTrainingCurves(history: EpochRecord[], pngPath: string): Promise<string> {
  const rows = history.flatMap((h) => [
    { epoch: h.epoch, value: h.train_loss, series: 'train loss', panel: 'loss' },
    { epoch: h.epoch, value: h.val_part_top1, series: 'val part top-1', panel: 'accuracy' },
    { epoch: h.epoch, value: h.val_color_acc, series: 'val color acc', panel: 'accuracy' },
  ].filter((row) => row.value !== null)); // no color curve for part-only data
  const layer = (panel: string, title: string): vl.TopLevelSpec => ({
    width: 360, height: 220, title,
    transform: [{ filter: { field: 'panel', equal: panel } }],
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1 } },
      y: { field: 'value', type: 'quantitative', ...(panel === 'accuracy' ? { scale: { domain: [0, 1] } } : {}) },
      color: { field: 'series', type: 'nominal' },
    },
  }) as vl.TopLevelSpec;
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values: rows },
    hconcat: [layer('loss', 'Train loss'), layer('accuracy', 'Validation accuracy')],
    background: 'white',
  } as vl.TopLevelSpec;
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = await sharp(Buffer.from(svg)).png().toBuffer();
  await replaceFile(pngPath, (tmp) => writeFile(tmp, png));
  return svg;
}
