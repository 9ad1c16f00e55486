/**
 * Renders a vega-lite chart in Node, without a browser: vega-lite -> vega -> SVG, and the
 * SVG -> PNG through sharp where a raster image is wanted (e.g. a README or a terminal viewer).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export type ChartSpec = TopLevelSpec;

/** Fonts every machine here has (DejaVu from Debian); the PNG path rasterises with them. */
const chartConfig = {
  font: 'DejaVu Sans, Liberation Sans, Arial, sans-serif',
  background: 'white',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12 },
} as const;

/** The chart as an SVG document (with width/height, so an <img> has a natural size). */
export async function renderSvg(spec: ChartSpec): Promise<string> {
  const withConfig = { ...spec, config: { ...chartConfig, ...(spec.config ?? {}) } } as ChartSpec;
  const view = new vega.View(vega.parse(compile(withConfig).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises an SVG document to PNG; `scale` 2 gives crisp text on high-density screens. */
export async function svgToPng(svg: string, scale = 2): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: 72 * scale }).png().toBuffer();
}

export interface WrittenChart {
  svg: string;
  png?: string;
}

/** Writes `<dir>/<name>.svg` (and `<name>.png` when asked); returns the file names. */
export async function writeChart(spec: ChartSpec, dir: string, name: string, options: { png?: boolean } = {}): Promise<WrittenChart> {
  await mkdir(dir, { recursive: true });
  const svg = await renderSvg(spec);
  await writeFile(join(dir, `${name}.svg`), svg);
  if (!options.png) return { svg: `${name}.svg` };
  await writeFile(join(dir, `${name}.png`), await svgToPng(svg));
  return { svg: `${name}.svg`, png: `${name}.png` };
}
