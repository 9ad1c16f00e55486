// Finds the source files a `run:` entry point is made of: the file and, transitively, every
// relative import, so editing a library module makes the stages that use it stale.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** import/export ... from 'x', import 'x', import('x'), require('x'). */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)(['"])([^'"\n]+)\1/g;
const SOURCE_EXT = /\.(?:[cm]?ts|tsx|[cm]?js|jsx)$/;

/** The candidates Node/tsx would try for a relative specifier (`./x.js` may be `./x.ts`). */
function resolveSpecifier(fromFile: string, spec: string): string | undefined {
  const base = resolve(dirname(fromFile), spec);
  const candidates = [base];
  if (/\.[cm]?js$/.test(base)) candidates.push(base.replace(/js$/, 'ts'));
  candidates.push(`${base}.ts`, `${base}.js`, join(base, 'index.ts'), join(base, 'index.js'));
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

/** Project-relative paths of `entry` and its transitive relative imports, sorted. */
export function codeFiles(root: string, entry: string): string[] {
  const seen = new Set<string>();
  const stack = [resolve(root, entry)];
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
  }
  return [...seen].map((f) => relative(root, f).replace(/\\/g, '/')).sort();
}
