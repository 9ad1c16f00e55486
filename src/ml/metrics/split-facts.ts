/**
 * Facts about the data an evaluation ran on, for its report: whether any image has a color
 * label, and how the filter grouped images (views of one capture) before splitting.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { AugmentCache } from '../augment-cache-reader.ts';
import type { SplitGroups } from '../dataset/build-dataset.ts';

/** True when some image of any split has a color the head knows. */
export function hasColorLabels(cache: Pick<AugmentCache, 'train' | 'val' | 'test'>): boolean {
  return [cache.train, cache.val, cache.test].some((split) => split.colorIndex.some((c) => c >= 0));
}

/** One line: the group_by rule and the groups it made, from the filter's summary.json when present. */
export function describeGrouping(groupBy: string | undefined, summaryFile: string): string {
  const groups = existsSync(summaryFile) ? (JSON.parse(readFileSync(summaryFile, 'utf8')) as { split_groups?: SplitGroups }).split_groups : undefined;
  const by = groupBy ?? groups?.group_by;
  if (by === undefined) return 'unknown (no split.group_by param and no artifacts/dataset/summary.json)';
  const rule = by === 'file' ? 'every image on its own (split.group_by: file)' : `capture: split.group_by /${by}/, the views of one capture share a split`;
  if (!groups) return rule;
  const per = groups.images_per_group;
  return `${rule} (${groups.groups} groups, ${groups.matched_groups} with several views; ${per.min}-${per.max} images per group, mean ${per.mean})`;
}
