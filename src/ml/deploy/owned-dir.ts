// Scratch folders named after the process that made them (`<prefix><pid>-<random>`), so a
// later deploy can remove those whose owner died without cleaning up (kill -9).
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pidExists } from '../../engine/process-identity.ts';

/** Creates `<parent>/<prefix><pid>-XXXXXX` after removing the ones whose process is gone; returns the names removed too. */
export function makeOwnedDir(parent: string, prefix: string): { dir: string; removedStale: string[] } {
  mkdirSync(parent, { recursive: true });
  const removedStale: string[] = [];
  for (const name of readdirSync(parent)) {
    const owner = name.startsWith(prefix) ? Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]) : NaN;
    if (!Number.isInteger(owner) || pidExists(owner)) continue;
    try {
      rmSync(join(parent, name), { recursive: true, force: true });
      removedStale.push(name);
    } catch {
      // another user's folder (a shared temp folder): not ours to remove
    }
  }
  return { dir: mkdtempSync(join(parent, `${prefix}${process.pid}-`)), removedStale };
}

