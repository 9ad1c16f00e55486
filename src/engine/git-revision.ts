// Reading files as they were at a git revision (`metrics --diff REV`, `report --base REV`).
// Paths are project-relative: `REV:./path` is resolved from the project folder, so a
// project in a subfolder of its repository works too.
import { execFileSync } from 'node:child_process';
import type { Result } from './diagnostic.ts';
import { parseLock, type LockData } from './lock-file.ts';

function git(root: string, args: string[]): string {
  return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A revision the user named, checked: its commit hash, or a message saying what is wrong. */
export function resolveRevision(root: string, rev: string): Result<string, string> {
  try {
    git(root, ['rev-parse', '--is-inside-work-tree']);
  } catch {
    return { ok: false, error: `"${rev}" cannot be read: ${root} is not inside a git repository` };
  }
  try {
    return { ok: true, value: git(root, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]).trim() };
  } catch {
    return { ok: false, error: `"${rev}" is not a commit of the git repository at ${root} (see git log; commit pipeline.lock after a run to compare with it)` };
  }
}

/** The text of project-relative `path` at commit `rev`, or undefined when it was not there. */
export function showAtRevision(root: string, rev: string, path: string): string | undefined {
  try {
    return git(root, ['show', `${rev}:./${path}`]);
  } catch {
    return undefined;
  }
}

/** pipeline.lock as committed at `rev`; undefined when absent or unreadable there. */
export function lockAtRevision(root: string, rev: string): LockData | undefined {
  const text = showAtRevision(root, rev, 'pipeline.lock');
  if (text === undefined) return undefined;
  try {
    return parseLock(text);
  } catch {
    return undefined;
  }
}
