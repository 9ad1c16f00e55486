// Finds the source files a stage is made of: its `run:` entry point and `code:` entries and,
// transitively, every relative import and every file a module loads by a literal path next
// to itself (`new URL('./x.wasm', import.meta.url)`, `join(import.meta.dirname, 'x.mjs')`),
// so editing a library module, a .wasm kernel or a script shipped to a device makes the
// stages that use it stale.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** import/export ... from 'x', import 'x', import('x'), require('x'). */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)(['"])([^'"\n]+)\1/g;
/** `new URL('lit', import.meta.url)`: a file beside the module, loaded at run time. */
const URL_REFERENCE = /\bnew\s+URL\s*\(\s*(['"])([^'"\n]+)\1\s*,\s*import\.meta\.url\s*\)/g;
/**
 * `join|resolve(<the module's folder>, 'lit', …)` where the folder is written
 * `dirname(fileURLToPath(import.meta.url))`, `import.meta.dirname` or `__dirname`, and every
 * further argument is a string literal: only then is the path known without running code.
 */
const DIR_REFERENCE =
  /\b(?:join|resolve)\s*\(\s*(?:dirname\s*\(\s*fileURLToPath\s*\(\s*import\.meta\.url\s*\)\s*\)|import\.meta\.dirname|__dirname)\s*((?:,\s*(['"])[^'"\n]+\2\s*)+)\)/g;
const LITERAL = /(['"])([^'"\n]+)\1/g;
const SOURCE_EXT = /\.(?:[cm]?ts|tsx|[cm]?js|jsx)$/;

/** The candidates Node/tsx would try for a relative specifier (`./x.js` may be `./x.ts`). */
function resolveSpecifier(fromFile: string, spec: string): string | undefined {
  const base = resolve(dirname(fromFile), spec);
  const candidates = [base];
  if (/\.[cm]?js$/.test(base)) candidates.push(base.replace(/js$/, 'ts'));
  candidates.push(`${base}.ts`, `${base}.js`, join(base, 'index.ts'), join(base, 'index.js'));
  return candidates.find(isFile);
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

/** Files `text` (the source of `file`) loads by a literal path relative to itself. */
function runtimeReferences(file: string, text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(URL_REFERENCE)) {
    const spec = m[2]!;
    // 'k.wasm' and './k.wasm' are beside the module; a scheme ('https:') or '/' is not.
    if (!/^[a-z][a-z\d+.-]*:/i.test(spec) && !spec.startsWith('/')) found.push(resolve(dirname(file), spec.split(/[?#]/)[0]!));
  }
  for (const m of text.matchAll(DIR_REFERENCE)) {
    const segments = [...m[1]!.matchAll(LITERAL)].map((s) => s[2]!);
    found.push(resolve(dirname(file), ...segments));
  }
  return found.filter(isFile);
}

/**
 * Project-relative paths of `entries` (the `run:` file, then any `code:` entries) and of
 * what they import or load at run time, transitively, sorted. A `code:` entry may be a
 * folder: it is listed as is and hashed as a folder.
 */
export function codeFiles(root: string, ...entries: string[]): string[] {
  const seen = new Set<string>();
  const stack = entries.map((e) => resolve(root, e));
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!SOURCE_EXT.test(file)) continue;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // a missing entry point is reported when the stage runs
    }
    for (const m of text.matchAll(SPECIFIER)) {
      const spec = m[2]!;
      if (!spec.startsWith('./') && !spec.startsWith('../')) continue;
      const target = resolveSpecifier(file, spec);
      if (target) stack.push(target);
    }
    stack.push(...runtimeReferences(file, text));
  }
  return [...seen]
    .map((f) => relative(root, f).replace(/\\/g, '/'))
    .filter((f) => !f.startsWith('../')) // outside the project (a package's file): not the project's code
    .sort();
}
