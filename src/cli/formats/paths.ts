// Paths as reports print them: relative, with forward slashes, so links work on any host.
import { relative, sep } from 'node:path';

/** `target` (absolute) as seen from the folder `from` (absolute). */
export function relativeTo(from: string, target: string): string {
  return relative(from, target).split(sep).join('/') || '.';
}
