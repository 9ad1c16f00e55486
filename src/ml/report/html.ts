/**
 * The evaluation report's HTML: a static page (no scripts, so nothing can fail at load
 * time) that shows the charts as <img> files written next to it.
 */
import type { LearnedRow } from './learned-table.ts';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function formatRate(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits);
}

export function formatInterval(low: number | null | undefined, high: number | null | undefined): string {
  return low === null || low === undefined || high === null || high === undefined ? 'n/a' : `${low.toFixed(3)} – ${high.toFixed(3)}`;
}

export interface TargetRow {
  metric: string;
  value: number | null;
  low: number | null;
  high: number | null;
  /** The gate as written in pipeline.yaml, e.g. ">= 0.90"; null when the metric has no gate. */
  gate: string | null;
  pass: boolean | null;
  /** Why the metric (and its gate) does not apply, e.g. the data has no color labels. */
  notApplicable?: string;
}

export interface Thumb {
  file: string;
  caption: string;
  /** Shown on hover: the source image path. */
  title: string;
}

export interface PairView {
  truth: string;
  predicted: string;
  count: number;
  rateOfTrue: number;
  reverseCount: number;
  thumbs: Thumb[];
  /** Extra images not shown. */
  more: number;
  swatches?: [string | undefined, string | undefined];
}

export interface ClassRowView {
  name: string;
  swatch?: string;
  support: number;
  correct: number;
  accuracy: number | null;
  low: number | null;
  high: number | null;
  precision: number | null;
  f1: number | null;
}

export interface Figure {
  file: string;
  alt: string;
}

export interface ReportView {
  title: string;
  generatedAt: string;
  facts: [string, string][];
  targets: TargetRow[];
  /** Train-fit beside test per source, or why it is missing. */
  learned: { rows: LearnedRow[]; meanings: [string, string][]; tested: string } | { missing: string };
  /** A line under the metrics table about worst_part_recall (which part, how many left out). */
  worstPartNote: string;
  headlineChart: Figure;
  training: Figure | { missing: string };
  partConfusion: Figure;
  colorConfusion: Figure | null;
  partPairs: PairView[];
  colorPairs: PairView[];
  partAccuracyChart: Figure;
  perPart: ClassRowView[];
  /** null: the data has no color labels, so there is nothing to show. */
  perColor: ClassRowView[] | null;
  worst: Thumb[];
  notes: string[];
}

const css = `
body{font-family:system-ui,'DejaVu Sans',sans-serif;margin:0 auto;max-width:1100px;padding:1.5rem;color:#222;line-height:1.4}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}th,td{padding:.25rem .6rem;border-bottom:1px solid #eee;text-align:right;vertical-align:top}
th{background:#f6f6f6}td.l,th.l{text-align:left}
.pass{color:#1a7f37;font-weight:bold}.fail{color:#c62828;font-weight:bold}.na{color:#888}
.facts td{text-align:left}.muted{color:#666}
figure{margin:.5rem 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
.thumbs{display:flex;flex-wrap:wrap;gap:.4rem}.thumbs figure{margin:0;font-size:.75rem;text-align:center;max-width:120px}
.thumbs img{image-rendering:pixelated;display:block;margin:auto}
.pairs td:last-child{min-width:540px}.pairs .thumbs{gap:.3rem}.pairs .thumbs figure{max-width:84px;font-size:.65rem}.pairs .thumbs img{width:80px;height:auto}.pairs .thumbs figcaption{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.swatch{display:inline-block;width:.9em;height:.9em;border:1px solid #999;vertical-align:middle;margin-right:.3em}
.scroll{max-height:520px;overflow:auto}
.verdict-not-learned,.verdict-memorised{color:#c62828;font-weight:bold}.verdict-learned{color:#1a7f37;font-weight:bold}
`;

function statusCell(row: TargetRow): string {
  if (row.notApplicable) return `<td class="na">n/a — ${escapeHtml(row.notApplicable)}</td>`;
  if (row.pass === null) return '<td class="na">no gate</td>';
  return row.pass ? '<td class="pass">pass</td>' : '<td class="fail">FAIL</td>';
}

function figureHtml(f: Figure): string {
  return `<figure><img src="${escapeHtml(f.file)}" alt="${escapeHtml(f.alt)}"></figure>`;
}

function swatch(rgb: string | undefined): string {
  return rgb ? `<span class="swatch" style="background:#${escapeHtml(rgb)}"></span>` : '';
}

function thumbsHtml(thumbs: Thumb[]): string {
  return `<div class="thumbs">${thumbs
    .map((t) => `<figure><img src="${escapeHtml(t.file)}" alt="${escapeHtml(t.caption)}" title="${escapeHtml(t.title)}"><figcaption>${escapeHtml(t.caption)}</figcaption></figure>`)
    .join('')}</div>`;
}

function pairsTable(pairs: PairView[], what: string): string {
  if (pairs.length === 0) return `<p class="muted">No ${what} was confused with another on the test split.</p>`;
  const rows = pairs.map(
    (p) => `<tr><td class="l">${swatch(p.swatches?.[0])}${escapeHtml(p.truth)}</td><td class="l">${swatch(p.swatches?.[1])}${escapeHtml(p.predicted)}</td>
<td>${p.count}</td><td>${(p.rateOfTrue * 100).toFixed(0)}%</td><td>${p.reverseCount}</td>
<td class="l">${thumbsHtml(p.thumbs)}${p.more > 0 ? `<span class="muted">+${p.more} more</span>` : ''}</td></tr>`,
  );
  return `<table class="pairs"><tr><th class="l">true ${what}</th><th class="l">predicted as</th><th>count</th><th>of true</th><th>reverse</th><th class="l">images</th></tr>${rows.join('\n')}</table>`;
}

function classTable(rows: ClassRowView[], what: string): string {
  const body = rows.map(
    (r) => `<tr><td class="l">${swatch(r.swatch)}${escapeHtml(r.name)}</td><td>${r.support}</td><td>${r.correct}</td>
<td>${formatRate(r.accuracy)}</td><td>${formatInterval(r.low, r.high)}</td><td>${formatRate(r.precision)}</td><td>${formatRate(r.f1)}</td></tr>`,
  );
  return `<div class="scroll"><table><tr><th class="l">${what}</th><th>test images</th><th>correct</th><th>accuracy</th><th>95% CI (Wilson)</th><th>precision</th><th>F1</th></tr>${body.join('\n')}</table></div>`;
}

function learnedSection(l: ReportView['learned']): string {
  if ('missing' in l) return `<p class="muted">No train-fit figures: ${escapeHtml(l.missing)}</p>`;
  const rows = l.rows.map(
    (r) => `<tr><td class="l">${escapeHtml(r.source)}</td><td>${r.n}</td><td>${formatRate(r.fitPartTop1)}</td><td>${formatRate(r.testPartTop1)}</td>
<td>${formatRate(r.fitColor)}</td><td>${formatRate(r.testColor)}</td><td class="l verdict-${r.verdict.replace(/[^a-z]+/g, '-')}">${escapeHtml(r.verdict)}</td></tr>`,
  );
  return `<p class="muted">Accuracy on a fixed sample of each source's own training images (un-augmented, best epoch) beside the ${escapeHtml(l.tested)} test split. n/a: the test split holds no images of that source.</p>
<table class="learned"><tr><th class="l">source</th><th>train images</th><th>train part top-1</th><th>test part top-1</th><th>train color</th><th>test color</th><th class="l">verdict</th></tr>
${rows.join('\n')}</table>
<ul class="muted">${l.meanings.map(([verdict, meaning]) => `<li><b>${escapeHtml(verdict)}</b>: ${escapeHtml(meaning)}</li>`).join('')}</ul>`;
}

export function renderReportHtml(v: ReportView): string {
  const targets = v.targets
    .map((t) => `<tr><td class="l">${escapeHtml(t.metric)}</td><td>${formatRate(t.value)}</td><td>${formatInterval(t.low, t.high)}</td><td>${t.gate ? escapeHtml(t.gate) : ''}</td>${statusCell(t)}</tr>`)
    .join('\n');
  const training = 'file' in v.training ? figureHtml(v.training) : `<p class="muted">No training curves: ${escapeHtml(v.training.missing)}</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(v.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${css}</style></head>
<body>
<h1>${escapeHtml(v.title)}</h1>
<p class="muted">Generated ${escapeHtml(v.generatedAt)}</p>
<table class="facts">${v.facts.map(([k, val]) => `<tr><th class="l">${escapeHtml(k)}</th><td>${escapeHtml(val)}</td></tr>`).join('')}</table>

<h2 id="targets">Metrics against targets</h2>
<table><tr><th class="l">metric</th><th>value</th><th>95% CI (bootstrap)</th><th>target</th><th>status</th></tr>
${targets}</table>
<p class="muted">${escapeHtml(v.worstPartNote)}</p>
${figureHtml(v.headlineChart)}

<h2 id="learned">Learned or memorised?</h2>
${learnedSection(v.learned)}

<h2 id="training">Training curves</h2>
${training}

<h2 id="part-confusion">Part confusion</h2>
${figureHtml(v.partConfusion)}
<h3>Top confused parts</h3>
${pairsTable(v.partPairs, 'part')}

${v.perColor === null ? `<h2 id="color">Color</h2>
<p class="muted">n/a — the data has no color labels: the model is part-only and reports no color.</p>
` : `<h2 id="color-confusion">Color confusion (known colors)</h2>
${v.colorConfusion ? figureHtml(v.colorConfusion) : '<p class="muted">No test image has a color the head knows.</p>'}
<h3>Top confused colors</h3>
${pairsTable(v.colorPairs, 'color')}
`}
<h2 id="per-part">Per-part accuracy (recall)</h2>
${figureHtml(v.partAccuracyChart)}
${classTable(v.perPart, 'part')}

${v.perColor === null ? '' : `<h2 id="per-color">Per-color accuracy</h2>
${classTable(v.perColor, 'color')}
`}
<h2 id="worst">Worst examples (part head)</h2>
<p class="muted">Misses first, then the lowest probability given to the true part.</p>
${thumbsHtml(v.worst)}

<h2 id="method">How these numbers are made</h2>
<ul>${v.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('\n')}</ul>
</body></html>
`;
}
