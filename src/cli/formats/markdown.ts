// Markdown for pull requests and job summaries: the gate table, the metrics diff table and
// image links. GitHub-flavoured tables; targets in code spans so "<" and ">" stay literal.
import type { GateResult } from '../../engine/gates.ts';
import type { MetricsDiff } from '../../engine/metrics.ts';
import { formatNumber } from '../../engine/table.ts';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** Markdown sections, one blank line apart, empty ones dropped. */
export function joinMarkdown(sections: string[]): string {
  return `${sections.filter((s) => s !== '').map((s) => s.trimEnd()).join('\n\n')}\n`;
}

export function markdownTable(header: string[], rows: string[][]): string {
  return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.map(cell).join(' | ')} |`).join('\n');
}

/** A gate's verdict as a table cell. */
export function verdictCell(r: Pick<GateResult, 'status' | 'note'>): string {
  const note = r.note ? ` (${r.note})` : '';
  if (r.status === 'pass') return '✅ pass';
  if (r.status === 'fail') return `❌ FAIL${note}`;
  return `➖ ${r.status.replace('-', ' ')}${note}`;
}

const PAST: Record<string, string> = { fail: 'failed', pass: 'passed', 'not-run': 'not run' };

/** "1 failed, 2 passed, 1 skipped": every status that occurs, failures first. */
export function gateCounts(results: GateResult[]): string {
  const counts = new Map<string, number>([['fail', 0], ['pass', 0]]);
  for (const r of results) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  return [...counts]
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${PAST[status] ?? status}`)
    .join(', ');
}

export function gatesMarkdown(results: GateResult[]): string {
  if (results.length === 0) return '### Gates\n\nNo gates were checked.\n';
  const rows = results.map((r) => [r.stage, r.metric, formatNumber(r.value), `\`${r.target}\``, verdictCell(r)]);
  return `### Gates: ${gateCounts(results)}\n\n${markdownTable(['stage', 'metric', 'value', 'target', 'result'], rows)}\n`;
}

export function signedChange(oldValue: number | undefined, newValue: number | undefined): string {
  if (oldValue === undefined || newValue === undefined) return '-';
  const d = newValue - oldValue;
  return `${d >= 0 ? '+' : ''}${formatNumber(d)}`;
}

/** The diff table: value, base, change, and for gated metrics the target and verdict now. */
export function metricsDiffMarkdown(diff: MetricsDiff, gates: GateResult[]): string {
  const rows = diff.rows.map((r) => {
    const gate = gates.find((g) => g.stage === r.stage && g.metric === r.metric);
    return [r.stage, r.metric, formatNumber(r.new), formatNumber(r.old), signedChange(r.old, r.new), gate ? `\`${gate.target}\`` : '', gate ? verdictCell(gate) : ''];
  });
  const sources = Object.entries(diff.sources).map(([stage, source]) => `${stage}: ${source}`);
  const table = rows.length > 0 ? markdownTable(['stage', 'metric', 'value', 'base', 'change', 'target', 'verdict'], rows) : 'No metrics on either side.';
  return `### Metrics vs ${diff.rev}\n\n${table}\n\n<sub>base values from ${sources.map(cell).join('; ') || 'nowhere'}</sub>\n`;
}

/** Image links, grouped by stage; `links` are already relative to where the markdown lives. */
export function imagesMarkdown(images: { stage: string; name: string; link: string }[]): string {
  if (images.length === 0) return '';
  const parts = ['### Images'];
  for (const stage of [...new Set(images.map((i) => i.stage))]) {
    parts.push(`**${stage}**`, images.filter((i) => i.stage === stage).map((i) => `![${i.name}](${encodeURI(i.link)})`).join('\n'));
  }
  return `${parts.join('\n\n')}\n`;
}
