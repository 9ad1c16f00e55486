// Assigns images to train/val/test by a salted hash of their group (the views of one capture)
// or, for an image in no group, of its content: stable when images are added.
import { createHash } from 'node:crypto';
import type { SplitConfig } from './data-config.ts';

export type Split = 'train' | 'val' | 'test';
export const SPLITS: readonly Split[] = ['train', 'val', 'test'];

/** `split.group_by` value that puts every image in a group of its own. */
export const GROUP_PER_FILE = 'file';

const compiled = new Map<string, RegExp>();

/**
 * The group (capture) of an image: `group_by` is a regex searched, case-insensitive, in the
 * image's manifest path (project-relative, `/`-separated); its first capture group, or else
 * the whole match, is the group id. null when it does not match or grouping is per file.
 * The default (schemas/data.schema.json) recognises `<id>_<view>.<ext>` names such as
 * `1699_front.jpg`; names without a view word, like the demo's `real_3001_0007.jpg`, match
 * nothing and stay groups of one.
 */
export function groupOf(path: string, groupBy: string): string | null {
  if (groupBy === GROUP_PER_FILE) return null;
  let re = compiled.get(groupBy);
  if (!re) compiled.set(groupBy, (re = new RegExp(groupBy, 'i')));
  const m = re.exec(path);
  if (!m) return null;
  return m[1] ?? m[0];
}

/**
 * The split of an image of group `group` (null: none) with content hash `sha256`. It depends
 * only on the group id (or, without a group, the content) and the salt, so adding, removing
 * or renaming other captures never moves it; all views of one capture land together, as do
 * byte-identical copies of an ungrouped image. The fractions hold per part in expectation;
 * filter rules check the minimums.
 */
export function assignSplit(group: string | null, sha256: string, config: Pick<SplitConfig, 'salt' | 'train' | 'val'>): Split {
  const unit = group === null ? sha256 : `group:${group}`;
  const digest = createHash('sha256').update(`${config.salt}\u0000${unit}`).digest();
  const u = digest.readUInt32BE(0) / 2 ** 32;
  if (u < config.train) return 'train';
  if (u < config.train + config.val) return 'val';
  return 'test';
}
