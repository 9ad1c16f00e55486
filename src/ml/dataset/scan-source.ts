// Lists the labelled images of one source: from its folders (<part>/<color>/<img> or <part>/<img>) or from each folder's index.csv.
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { sourceFolders, type SourceConfig } from './data-config.ts';
import { UNKNOWN_COLOR } from './labels.ts';

/** An image file with the labels its place (or index.csv) gives it, not yet opened. */
export interface Candidate {
  absPath: string;
  /** Project-relative path with `/` separators (absolute when outside the project). */
  path: string;
  source: string;
  partId: string;
  /** The color as labelled (any id), UNKNOWN_COLOR when the source has none. */
  colorId: number;
}

/** Why inputs are skipped, as a word the summary can count by. */
export type BadKind =
  | 'missing-source'
  | 'layout'
  | 'not-target-part'
  | 'not-image'
  | 'not-regular'
  | 'loop'
  | 'index-row'
  | 'empty'
  | 'unreadable'
  | 'corrupt'
  | 'too-small';

/** An input skipped, with why (`reason` names the file, line or rule); `files` counts a skipped folder's images. */
export interface BadFile {
  path: string;
  reason: string;
  kind: BadKind;
  files?: number;
}

export interface ScanResult {
  candidates: Candidate[];
  bad: BadFile[];
  /** Dot-files and dot-folders skipped (.DS_Store, .gitkeep): not data, but counted, not dropped silently. */
  hidden: number;
}

export interface ScanOptions {
  projectRoot: string;
  targetParts: ReadonlySet<string>;
  extensions: readonly string[];
}

/** Project-relative `/` path for manifests and reports. */
export function displayPath(projectRoot: string, abs: string): string {
  const rel = relative(projectRoot, abs);
  if (rel.startsWith('..') || isAbsolute(rel)) return abs.split(sep).join('/');
  return rel.split(sep).join('/');
}

/**
 * Scans every folder of `source`, in the order configured; in each, an index.csv (configured,
 * or at that folder's root) replaces the folder labels. Every folder must exist: a missing one
 * is reported (kind missing-source), the others are still read.
 */
export function scanSource(source: SourceConfig, opts: ScanOptions): ScanResult {
  const out: ScanResult = { candidates: [], bad: [], hidden: 0 };
  for (const folder of sourceFolders(source)) {
    const scan = scanFolder(source, folder, opts);
    out.candidates.push(...scan.candidates);
    out.bad.push(...scan.bad);
    out.hidden += scan.hidden;
  }
  return out;
}

function scanFolder(source: SourceConfig, folder: string, opts: ScanOptions): ScanResult {
  const root = resolve(opts.projectRoot, folder);
  if (!existsSync(root) || !statSync(root).isDirectory())
    return { candidates: [], bad: [{ path: displayPath(opts.projectRoot, root), reason: `source "${source.name}": folder does not exist`, kind: 'missing-source' }], hidden: 0 };
  const index = source.index !== undefined ? resolve(root, source.index) : join(root, 'index.csv');
  if (source.index !== undefined && !existsSync(index))
    return { candidates: [], bad: [{ path: displayPath(opts.projectRoot, index), reason: `source "${source.name}": configured index file does not exist`, kind: 'missing-source' }], hidden: 0 };
  return existsSync(index) ? scanIndex(source, root, index, opts) : scanFolders(source, root, opts);
}

const isHidden = (name: string): boolean => name.startsWith('.');
/** A README at a folder's root documents the layout for the operator (data/captures has one); it is not data. */
const isReadme = (name: string): boolean => /^readme(\.(md|txt))?$/i.test(name);

function scanFolders(source: SourceConfig, root: string, opts: ScanOptions): ScanResult {
  const out: ScanResult = { candidates: [], bad: [], hidden: 0 };
  const show = (abs: string) => displayPath(opts.projectRoot, abs);
  /** Dot-files are counted; FIFOs, sockets, dangling links and loops are reported by name. True when `entry` was skipped. */
  const skipped = (entry: Entry, abs: string): boolean => {
    if (isHidden(entry.name)) {
      out.hidden += entry.kind === 'dir' ? countFiles(abs) : 1;
      return true;
    }
    if (entry.kind === 'special' || entry.kind === 'loop') {
      out.bad.push({ path: show(abs), reason: entry.why, kind: entry.kind === 'loop' ? 'loop' : 'not-regular' });
      return true;
    }
    return false;
  };
  const isImage = (name: string) => opts.extensions.includes(extname(name).toLowerCase());
  const layoutText = source.layout === 'part_color' ? '<part>/<color>/<image>' : '<part>/<image>';
  for (const partEntry of sortedEntries(root)) {
    const partDir = join(root, partEntry.name);
    if ((isReadme(partEntry.name) && partEntry.isFile()) || skipped(partEntry, partDir)) continue;
    if (!partEntry.isDirectory()) {
      out.bad.push({ path: show(partDir), reason: `not in the ${layoutText} layout of source "${source.name}"`, kind: 'layout' });
      continue;
    }
    if (!opts.targetParts.has(partEntry.name)) {
      out.bad.push({ path: show(partDir), reason: `part folder "${partEntry.name}" is not a target part (config/target_parts.json)`, kind: 'not-target-part', files: countFiles(partDir) });
      continue;
    }
    const addImage = (abs: string, name: string, colorId: number) => {
      if (!isImage(name)) out.bad.push({ path: show(abs), reason: `not an image file (extension not in filter.extensions)`, kind: 'not-image' });
      else out.candidates.push({ absPath: abs, path: show(abs), source: source.name, partId: partEntry.name, colorId });
    };
    for (const entry of sortedEntries(partDir)) {
      const abs = join(partDir, entry.name);
      if (skipped(entry, abs)) continue;
      if (source.layout === 'part') {
        if (entry.isFile()) addImage(abs, entry.name, UNKNOWN_COLOR);
        else out.bad.push({ path: show(abs), reason: `unexpected folder: source "${source.name}" has the ${layoutText} layout`, kind: 'layout', files: countFiles(abs) });
        continue;
      }
      if (!entry.isDirectory()) {
        out.bad.push({ path: show(abs), reason: `image outside a color folder: source "${source.name}" has the ${layoutText} layout`, kind: 'layout' });
        continue;
      }
      if (!/^\d+$/.test(entry.name)) {
        out.bad.push({ path: show(abs), reason: `color folder "${entry.name}" is not a numeric color id`, kind: 'layout', files: countFiles(abs) });
        continue;
      }
      for (const file of sortedEntries(abs)) {
        const fileAbs = join(abs, file.name);
        if (skipped(file, fileAbs)) continue;
        if (file.isFile()) addImage(fileAbs, file.name, Number(entry.name));
        else out.bad.push({ path: show(fileAbs), reason: `unexpected folder below a color folder`, kind: 'layout', files: countFiles(fileAbs) });
      }
    }
  }
  return out;
}

/** index.csv: a header naming path, part_id and color_id (any order); paths are relative to the source root; an empty color is unknown. */
function scanIndex(source: SourceConfig, root: string, indexFile: string, opts: ScanOptions): ScanResult {
  const out: ScanResult = { candidates: [], bad: [], hidden: 0 };
  const shownIndex = displayPath(opts.projectRoot, indexFile);
  const lines = readFileSync(indexFile, 'utf8').split(/\r?\n/);
  const header = splitCsvLine(lines[0] ?? '').map((h) => h.trim().toLowerCase());
  const col = { path: header.indexOf('path'), part: header.indexOf('part_id'), color: header.indexOf('color_id') };
  if (col.path < 0 || col.part < 0) {
    out.bad.push({ path: `${shownIndex}:1`, reason: `index header must name path and part_id (and color_id), found: ${header.join(',')}`, kind: 'index-row' });
    return out;
  }
  const seen = new Set<string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const where = `${shownIndex}:${i + 1}`;
    const cells = splitCsvLine(line).map((c) => c.trim());
    const rel = cells[col.path] ?? '';
    const partId = cells[col.part] ?? '';
    const colorText = col.color >= 0 ? (cells[col.color] ?? '') : '';
    if (rel === '' || partId === '') {
      out.bad.push({ path: where, reason: 'row needs a path and a part_id', kind: 'index-row' });
      continue;
    }
    if (colorText !== '' && !/^\d+$/.test(colorText)) {
      out.bad.push({ path: where, reason: `color_id "${colorText}" is not a numeric color id`, kind: 'index-row' });
      continue;
    }
    const abs = resolve(root, rel);
    const shown = displayPath(opts.projectRoot, abs);
    if (seen.has(abs)) {
      out.bad.push({ path: where, reason: `${rel} is listed twice (first row wins)`, kind: 'index-row' });
      continue;
    }
    seen.add(abs);
    if (!existsSync(abs)) {
      out.bad.push({ path: where, reason: `listed image ${shown} does not exist`, kind: 'index-row' });
      continue;
    }
    const entry = entryAt(abs);
    if (entry.kind !== 'file') {
      // Opening a FIFO to read it would wait forever for a writer.
      const reason = entry.kind === 'dir' ? 'a folder' : entry.why;
      out.bad.push({ path: shown, reason: `${reason}, not an image file (${where})`, kind: entry.kind === 'loop' ? 'loop' : 'not-regular' });
      continue;
    }
    if (!opts.targetParts.has(partId)) {
      out.bad.push({ path: shown, reason: `part "${partId}" (${where}) is not a target part (config/target_parts.json)`, kind: 'not-target-part' });
      continue;
    }
    out.candidates.push({ absPath: abs, path: shown, source: source.name, partId, colorId: colorText === '' ? UNKNOWN_COLOR : Number(colorText) });
  }
  return out;
}

/** One CSV line: commas, double-quoted cells with "" escapes. */
function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cur);
      cur = '';
    } else cur += ch;
  }
  cells.push(cur);
  return cells;
}

/**
 * A folder entry, symlinks followed (datasets are often linked in from another disk). A link
 * that loops, or that leads back to a folder the scan is inside (`ln -s .. loop`), is a
 * `loop`; a FIFO, socket, device or dangling link is `special`: neither is opened.
 */
interface Entry {
  name: string;
  kind: 'file' | 'dir' | 'special' | 'loop';
  /** For special and loop: what it is, for the bad-file report. */
  why: string;
  isDirectory(): boolean;
  isFile(): boolean;
}

function entry(name: string, kind: Entry['kind'], why = ''): Entry {
  return { name, kind, why, isDirectory: () => kind === 'dir', isFile: () => kind === 'file' };
}

function sortedEntries(dir: string): Entry[] {
  return readdirSync(dir)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => entryAt(join(dir, name)));
}

function entryAt(abs: string): Entry {
  const name = abs.slice(abs.lastIndexOf(sep) + 1);
  let st;
  try {
    st = statSync(abs, { throwIfNoEntry: false });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return entry(name, code === 'ELOOP' ? 'loop' : 'special', code === 'ELOOP' ? 'a symlink loop (too many levels of symbolic links)' : `unreadable entry (${code})`);
  }
  if (!st) return entry(name, 'special', 'a dangling symlink');
  if (st.isFile()) return entry(name, 'file');
  if (st.isDirectory()) {
    const real = realpathSync(abs);
    const parent = realpathSync(join(abs, '..'));
    if (parent === real || parent.startsWith(real.endsWith(sep) ? real : real + sep))
      return entry(name, 'loop', `a folder loop: links back to ${real}, a folder it is inside`);
    return entry(name, 'dir');
  }
  const what = st.isFIFO() ? 'a FIFO (named pipe)' : st.isSocket() ? 'a socket' : 'a device';
  return entry(name, 'special', `${what}, not a regular file`);
}

/** Files below `dir`, each real folder counted once (a loop deeper down ends there). */
function countFiles(dir: string, seen = new Set<string>()): number {
  const id = realpathSync(dir);
  if (seen.has(id)) return 0;
  seen.add(id);
  let n = 0;
  for (const e of sortedEntries(dir)) {
    if (e.kind === 'dir') n += countFiles(join(dir, e.name), seen);
    else if (e.kind === 'file') n++;
  }
  return n;
}
