// Which modules a node process loads: NODE_OPTIONS adds a module hook (node's --import) that
// appends every specifier the process resolves to a log file. Child processes inherit it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ModuleLog {
  /** Environment to start the process with. */
  env: Record<string, string>;
  /** The specifiers resolved so far, one a line. */
  read(): string;
  /** Removes the hook and its log. */
  cleanup(): void;
}

export function moduleLog(): ModuleLog {
  const dir = mkdtempSync(join(tmpdir(), 'module-log-'));
  const log = join(dir, 'resolved.txt');
  writeFileSync(log, '');
  writeFileSync(join(dir, 'log-hook.mjs'), "import { appendFileSync } from 'node:fs';\nexport async function resolve(s, c, next) { appendFileSync(process.env.RESOLVED_LOG, s + '\\n'); return next(s, c); }\n");
  writeFileSync(join(dir, 'register.mjs'), "import { register } from 'node:module';\nregister('./log-hook.mjs', import.meta.url);\n");
  return {
    env: { NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --import=${join(dir, 'register.mjs')}`.trim(), RESOLVED_LOG: log },
    read: () => readFileSync(log, 'utf8'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
