// Config errors as data: a message tied to a place in a file, printed as `file:line:col`
// with the offending text underlined, as compilers do.

/** A span of a source file; offsets are 0-based, line and column 1-based. */
export interface Location {
  file: string;
  /** Text of the whole file, kept so the diagnostic can show the offending line. */
  source: string;
  start: number;
  end: number;
}

export interface Diagnostic {
  message: string;
  /** Default 'error'; a warning is printed and the run goes on. */
  severity?: 'error' | 'warning';
  location?: Location;
  /** Other places involved, e.g. the first of two stages claiming one out. */
  supplemental?: { message: string; location: Location }[];
}

/** Result of an operation whose expected failures are collected rather than thrown. */
export type Result<T, E = Diagnostic[]> = { ok: true; value: T } | { ok: false; error: E };

export function lineCol(source: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < source.length; i++) {
    if (source[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, col: offset - lineStart + 1 };
}

/** `file:line:col` of the start of `loc`. */
export function placeText(loc: Location): string {
  const { line, col } = lineCol(loc.source, loc.start);
  return `${loc.file}:${line}:${col}`;
}

/** The source line of `loc` with `~~~` under the marked text. */
function squiggle(loc: Location): string {
  const { line, col } = lineCol(loc.source, loc.start);
  const lineText = loc.source.split('\n')[line - 1] ?? '';
  const width = Math.max(1, Math.min(loc.end - loc.start, lineText.length - col + 1));
  const gutter = String(line).padStart(4);
  return `${gutter} | ${lineText}\n${' '.repeat(gutter.length)} | ${' '.repeat(col - 1)}${'~'.repeat(width)}`;
}

/** Renders a diagnostic the way a user reads it in a terminal. */
export function formatDiagnostic(d: Diagnostic): string {
  const severity = d.severity ?? 'error';
  if (!d.location) return `${severity}: ${d.message}`;
  const parts = [`${placeText(d.location)}: ${severity}: ${d.message}`, squiggle(d.location)];
  for (const s of d.supplemental ?? []) parts.push(`${placeText(s.location)}: note: ${s.message}`, squiggle(s.location));
  return parts.join('\n');
}
