// Plain-text tables for terminal output (summary, gates, status, metrics diff).

/** Columns padded to their widest cell; the first row is the header, underlined. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** A metric value as tables show it: 6 significant digits, "-" when there is none. */
export function formatNumber(n: number | undefined): string {
  return n === undefined ? '-' : String(Number(n.toPrecision(6)));
}
