// Lists a dep or out path with every file's stat key, as cheaply as the platform allows: GNU
// find streams one record per entry (about 2x faster than stat from Node, which builds a
// Stats object and four Dates per call), and the records are only hashed, not parsed, unless
// the caller needs them (a cache miss). Elsewhere a JS walk writes the same records.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, statSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';

/** A regular file under a listed path, with `dev:ino:size:mtimeNs`. */
export interface ListedFile {
  /** Project-relative path. */
  rel: string;
  key: string;
  /** Filled in by the hasher (cache or read): sha256 hex, or `error:CODE`. */
  hash?: string;
}

export interface Listing {
  rel: string;
  kind: 'file' | 'dir' | 'missing';
  /** Digest of every entry's path and stat key: equal to last time means nothing changed. */
  statDigest: string;
  /** The records themselves, in the lister's order (see FIND_ARGS): compared with last time's to find what changed. */
  records: Buffer;
  /** The regular files (symlinks followed), parsed from the records on first call. */
  files(): ListedFile[];
  /** Entries skipped, each naming the path and why (a FIFO, a symlink loop, ...). */
  warnings: string[];
}

/**
 * One record per regular file or folder, NUL-terminated (a file name may hold a newline):
 * type, device, inode, size, mtime as seconds.nanoseconds (GNU find's %T@ prints ten
 * digits, the last always 0), path below the listed one. Any other entry (symlinks are
 * followed, so N is a dangling one) is named on stderr instead, with the complaints.
 */
const FIND_ARGS = ['(', '-type', 'f', '-o', '-type', 'd', ')', '-printf', '%Y %D %i %s %T@ %P\\0', '-o', '-fprintf', '/dev/stderr', 'type %Y %p\\n'];

const TYPE_NAMES: Record<string, string> = {
  p: 'a FIFO',
  s: 'a socket',
  c: 'a character device',
  b: 'a block device',
  N: 'a dangling symlink',
  L: 'a symlink loop',
};

/**
 * What is at `rel` (symlinks followed), with its stat key if a regular file. `expectedBytes`
 * gives the length of a folder's last listing if known (asked only for a folder listed by
 * find), to size the buffer its records are read into. A folder's records are also handed
 * to `onRecords` as they arrive, whole records at a time, never changed afterwards.
 */
export async function listPath(
  root: string,
  rel: string,
  expectedBytes?: () => number | undefined,
  onRecords?: (records: Buffer) => void,
): Promise<Listing> {
  const abs = join(root, rel);
  let st: BigIntStats | undefined;
  try {
    st = statSync(abs, { bigint: true, throwIfNoEntry: false });
  } catch (err) {
    // ELOOP and the like: not there, as far as hashing can tell; said, not thrown.
    return missing(rel, [`skipped ${rel}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`]);
  }
  if (!st) return missing(rel, []);
  if (st.isFile()) {
    const record = Buffer.from(recordOf('f', st, ''));
    return listing(rel, 'file', record, []);
  }
  if (!st.isDirectory()) return missing(rel, [`skipped ${rel}: ${TYPE_NAMES[typeLetter(st)] ?? 'not a regular file'}`]);
  if (hasGnuFind()) {
    const { records, warnings } = await findRecords(root, rel, expectedBytes?.(), onRecords);
    return listing(rel, 'dir', records, warnings);
  }
  const { records, warnings } = walkRecords(root, rel);
  onRecords?.(records);
  return listing(rel, 'dir', records, warnings);
}

function missing(rel: string, warnings: string[]): Listing {
  return { rel, kind: 'missing', statDigest: '', records: Buffer.alloc(0), files: () => [], warnings };
}

function listing(rel: string, kind: 'file' | 'dir', records: Buffer, warnings: string[]): Listing {
  let files: ListedFile[] | undefined;
  const parse = (): ListedFile[] => {
    const out: ListedFile[] = [];
    const prefix = kind === 'file' ? rel : `${rel}/`;
    const text = records.toString('utf8'); // one string for all records: only on a miss
    let start = 0;
    for (let end = text.indexOf('\0'); end >= 0; start = end + 1, end = text.indexOf('\0', start)) {
      if (text.charCodeAt(start) !== 102 /* f */) continue;
      const f = parseRecord(text, start, end);
      out.push({ rel: kind === 'file' ? rel : prefix + f.path, key: f.key });
    }
    return out;
  };
  return {
    rel,
    kind,
    statDigest: createHash('sha256').update(records).digest('hex'),
    records,
    files: () => (files ??= parse()),
    warnings,
  };
}

/** `f dev ino size sec.frac path`: the stat key in the engine's `dev:ino:size:mtimeNs` form. */
export function parseRecord(text: string, start: number, end: number): { key: string; path: string } {
  const s1 = text.indexOf(' ', start + 2);
  const s2 = text.indexOf(' ', s1 + 1);
  const s3 = text.indexOf(' ', s2 + 1);
  const s4 = text.indexOf(' ', s3 + 1);
  const dot = text.indexOf('.', s3 + 1);
  const sec = text.slice(s3 + 1, dot);
  const frac = text.slice(dot + 1, dot + 10);
  // sec * 1e9 + frac, as text while sec is positive (BigInt per file is slow); before 1970, BigInt.
  const mtimeNs = sec.startsWith('-') || sec === '0' ? String(BigInt(sec) * 1_000_000_000n + BigInt(frac)) : sec + frac;
  return { key: `${text.slice(start + 2, s1)}:${text.slice(s1 + 1, s2)}:${text.slice(s2 + 1, s3)}:${mtimeNs}`, path: text.slice(s4 + 1, end) };
}

let gnuFind: boolean | undefined;
/** GNU find has -printf; BSD and busybox find do not. Asked once per process. */
function hasGnuFind(): boolean {
  if (process.env['BRICKFLOW_NO_FIND'] === '1') return false; // tests compare both listers
  if (gnuFind === undefined) {
    const r = spawnSync('find', ['--version'], { encoding: 'utf8' });
    gnuFind = r.status === 0 && r.stdout.includes('GNU findutils');
  }
  return gnuFind;
}

/** Streams find's records into one buffer; its complaints (loops, vanished files) become warnings. */
function findRecords(root: string, rel: string, expectedBytes = 0, onRecords?: (records: Buffer) => void): Promise<{ records: Buffer; warnings: string[] }> {
  return new Promise((resolve, reject) => {
    // LC_ALL=C: plain quotes in messages. `--` never needed: rel is a relative path that
    // the config checked, and `./` keeps a name starting with '-' from reading as an option.
    const child = spawn('find', ['-L', `./${rel}`, ...FIND_ARGS], {
      cwd: root,
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // One buffer, not a list of 64 KB chunks: the records are compared and parsed in place,
    // and a concatenated copy would double their memory. Sized as last time's listing and a
    // bit, or 16 MiB (~300k records) for a first listing (pages never written take no
    // memory); a larger one grows by doubling, each buffer outgrown staying until garbage
    // collection.
    let buf = Buffer.allocUnsafe(expectedBytes > 0 ? Math.max(1 << 20, Math.ceil(expectedBytes * 1.05) + (1 << 16)) : 16 << 20);
    let used = 0;
    let handed = 0; // records before this were given to onRecords
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      if (used + c.length > buf.length) {
        const grown = Buffer.allocUnsafe(Math.max(buf.length * 2, used + c.length));
        buf.copy(grown, 0, 0, used);
        buf = grown;
      }
      used += c.copy(buf, used);
      if (onRecords) {
        // Bytes once written are never rewritten (a grown buffer is a copy): views stay true.
        const whole = buf.lastIndexOf(0, used - 1) + 1;
        if (whole > handed) {
          onRecords(buf.subarray(handed, whole));
          handed = whole;
        }
      }
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const warnings = err
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => {
          const odd = /^type (\S) \.\/(.*)$/.exec(l);
          if (odd) return `skipped ${odd[2]}: ${TYPE_NAMES[odd[1]!] ?? 'not a regular file'}`;
          return `skipped ${l.replace(/^find: /, '').replaceAll("'./", "'")}`;
        });
      if (code !== 0 && code !== 1) reject(new Error(`find ${rel} exited ${code}: ${err}`));
      else {
        if (onRecords && used > handed) onRecords(buf.subarray(handed, used)); // (find ends every record with NUL)
        resolve({ records: buf.subarray(0, used), warnings });
      }
    });
  });
}

function typeLetter(st: BigIntStats): string {
  if (st.isFile()) return 'f';
  if (st.isDirectory()) return 'd';
  if (st.isFIFO()) return 'p';
  if (st.isSocket()) return 's';
  if (st.isCharacterDevice()) return 'c';
  if (st.isBlockDevice()) return 'b';
  return '?';
}

/** The record find would print for an entry at `path` below the listed one. */
function recordOf(type: string, st: BigIntStats, path: string): string {
  const sec = st.mtimeNs / 1_000_000_000n;
  let frac = st.mtimeNs % 1_000_000_000n;
  let s = sec;
  if (frac < 0n) {
    frac += 1_000_000_000n;
    s -= 1n;
  }
  return `${type} ${st.dev} ${st.ino} ${st.size} ${s}.${frac.toString().padStart(9, '0')}0 ${path}\0`;
}

/**
 * The same records and warnings from Node (no GNU find): stat follows symlinks; a folder
 * already on the way down (a loop through a symlink) or a symlink that loops is skipped.
 */
function walkRecords(root: string, rel: string): { records: Buffer; warnings: string[] } {
  const parts: string[] = [];
  const warnings: string[] = [];
  const shown = (path: string): string => (path === '' ? rel : `${rel}/${path}`);
  const visit = (path: string, st: BigIntStats, ancestors: Map<string, string>): void => {
    parts.push(recordOf(typeLetter(st), st, path));
    if (!st.isDirectory()) return;
    const here = new Map(ancestors).set(`${st.dev}:${st.ino}`, shown(path));
    const dirAbs = join(root, rel, path);
    let names: string[];
    try {
      names = readdirSync(dirAbs);
    } catch (err) {
      warnings.push(`skipped '${shown(path)}': ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`); // as find does
      return;
    }
    for (const name of names) {
      const child = path === '' ? name : `${path}/${name}`;
      let cst: BigIntStats | undefined;
      try {
        cst = statSync(join(dirAbs, name), { bigint: true, throwIfNoEntry: false });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        warnings.push(`skipped '${shown(child)}': ${code === 'ELOOP' ? 'Too many levels of symbolic links' : code}`);
        continue;
      }
      const type = cst ? typeLetter(cst) : 'N';
      if (type !== 'f' && type !== 'd') warnings.push(`skipped ${shown(child)}: ${TYPE_NAMES[type] ?? 'not a regular file'}`);
      else if (type === 'd' && here.has(`${cst!.dev}:${cst!.ino}`)) {
        const first = here.get(`${cst!.dev}:${cst!.ino}`)!;
        warnings.push(`skipped File system loop detected; '${shown(child)}' is part of the same file system loop as '${first}'.`);
      } else visit(child, cst!, here);
    }
  };
  visit('', statSync(join(root, rel), { bigint: true }), new Map());
  return { records: Buffer.from(parts.join('')), warnings };
}
