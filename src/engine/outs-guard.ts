// Keeps a stage's previous outs safe while it runs: moved aside (rename, same file system)
// before it starts, dropped when it succeeds, put back when it fails or the runner dies.
// A journal written before the first move lets the next run finish an interrupted restore.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

interface JournalEntry {
  /** Project-relative out path. */
  path: string;
  /** File name of the aside copy inside the stage's aside folder. */
  aside: string;
  /** Whether there was a previous out to keep (otherwise a failed run's partial out is removed). */
  existed: boolean;
}

export interface GuardedOuts {
  /** The stage succeeded: forget the old outs. */
  commit(): void;
  /** The stage failed or was interrupted: remove what it wrote, put the old outs back. */
  restore(): void;
}

/** Moves non-persist outs of `stage` to `<asideRoot>/<stage>/`. */
export function guardOuts(root: string, asideRoot: string, stage: string, outs: readonly string[]): GuardedOuts {
  const dir = join(asideRoot, stage);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const entries: JournalEntry[] = outs.map((path, i) => ({ path, aside: `out-${i}`, existed: existsSync(join(root, path)) }));
  writeFileSync(join(dir, 'journal.json'), JSON.stringify(entries));
  for (const e of entries) {
    if (e.existed) renameSync(join(root, e.path), join(dir, e.aside));
    mkdirSync(dirname(join(root, e.path)), { recursive: true });
  }
  return {
    commit: () => rmSync(dir, { recursive: true, force: true }),
    restore: () => restoreFrom(root, dir, entries),
  };
}

function restoreFrom(root: string, dir: string, entries: JournalEntry[]): void {
  for (const e of entries) {
    const target = join(root, e.path);
    const aside = join(dir, e.aside);
    if (existsSync(aside)) {
      rmSync(target, { recursive: true, force: true });
      renameSync(aside, target);
    } else if (!e.existed) {
      rmSync(target, { recursive: true, force: true });
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Restores every stage left aside by a runner that was killed; returns their names. */
export function recoverInterrupted(root: string, asideRoot: string): string[] {
  if (!existsSync(asideRoot)) return [];
  const recovered: string[] = [];
  for (const stage of readdirSync(asideRoot)) {
    const dir = join(asideRoot, stage);
    let entries: JournalEntry[];
    try {
      entries = JSON.parse(readFileSync(join(dir, 'journal.json'), 'utf8')) as JournalEntry[];
    } catch {
      // No journal: the runner died before moving anything.
      rmSync(dir, { recursive: true, force: true });
      continue;
    }
    restoreFrom(root, dir, entries);
    recovered.push(stage);
  }
  return recovered;
}
