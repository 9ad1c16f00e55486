// The filter: scans the sources, checks every image, keeps the target parts, maps colors to the head, splits, and checks the rules.
import type { ColorEntry, FilterRules, SourceConfig, SplitConfig } from './data-config.ts';
import { inspectImage } from './inspect-image.ts';
import { UNKNOWN_COLOR, type Labels, type TargetPart } from './labels.ts';
import { Progress } from '../progress.ts';
import { scanSource, type BadFile, type Candidate } from './scan-source.ts';
import { assignSplit, groupOf, type Split } from './split.ts';
import { boundedEach } from '../../engine/bounded-each.ts';

/** One line of manifest.jsonl (docs/contracts.md). */
export interface ManifestEntry {
  path: string;
  sha256: string;
  source: string;
  part_id: string;
  /** A head color id, or 9999 when unknown or not a color of the head. */
  color_id: number;
  split: Split;
  width: number;
  height: number;
  /** The capture this image is a view of (split.group_by), when it belongs to one: views share a split. */
  group?: string;
}

/** A broken filter rule: the stage fails and says which. */
export interface RuleViolation {
  rule: string;
  message: string;
  /** The target parts that break it, when the rule is per part. */
  parts?: string[];
  /** What the user can do about it, one alternative per line. */
  ways_out?: string[];
}

export interface Dataset {
  manifest: ManifestEntry[];
  labels: Labels;
  bad: BadFile[];
  summary: DatasetSummary;
  violations: RuleViolation[];
}

type Counts = Record<string, number>;

export interface DatasetSummary {
  images: number;
  per_source: Record<string, Counts>;
  per_split: Counts;
  per_part: Record<string, Counts>;
  per_color: Counts;
  /** Labelled colors outside the head (counted as unknown for the loss), by original id. */
  colors_outside_head: Counts;
  /** Images whose content also appears at another path (they share a split). */
  duplicate_images: number;
  /** Skipped inputs, counted in files (a skipped folder counts its files), by kind; `hidden`: dot-files (.DS_Store), not in bad_files.jsonl. */
  skipped: { files: number; by_kind: Counts; hidden: number };
  /** How the `use: split` images were grouped before splitting (split.group_by). */
  split_groups: SplitGroups;
}

export interface SplitGroups {
  group_by: string;
  /** Units the split hashes: captures (groups) plus images in no group. */
  groups: number;
  /** Images of `use: split` sources that matched group_by, and the groups they form. */
  grouped_images: number;
  matched_groups: number;
  /** Images per group over all units (an ungrouped image is a group of one). */
  images_per_group: { min: number; mean: number; max: number };
}

export interface BuildInputs {
  projectRoot: string;
  sources: readonly SourceConfig[];
  targets: readonly TargetPart[];
  colors: readonly ColorEntry[];
  split: SplitConfig;
  rules: FilterRules;
  /** Parallel image checks (sharp decodes on libuv's pool). */
  concurrency?: number;
  log?: NodeJS.WriteStream;
}

export async function buildDataset(inputs: BuildInputs): Promise<Dataset> {
  const { projectRoot, sources, targets, colors, split, rules } = inputs;
  const targetIds = new Set(targets.map((t) => t.id));
  const headColorIds = new Set(colors.map((c) => c.id));
  const bad: BadFile[] = [];
  let hidden = 0;
  const candidates: Array<Candidate & { use: SourceConfig['use'] }> = [];
  for (const source of sources) {
    const scan = scanSource(source, { projectRoot, targetParts: targetIds, extensions: rules.extensions });
    bad.push(...scan.bad);
    hidden += scan.hidden;
    for (const c of scan.candidates) candidates.push({ ...c, use: source.use });
  }

  const progress = new Progress('filter: checking images', candidates.length, inputs.log ?? process.stdout);
  const inspected = await mapLimit(candidates, inputs.concurrency ?? 4, async (c) => {
    const result = await inspectImage(c.absPath, rules.min_size);
    progress.tick();
    return result;
  });
  progress.finish();

  const manifest: ManifestEntry[] = [];
  const outsideHead: Counts = {};
  for (const [i, c] of candidates.entries()) {
    const r = inspected[i]!;
    if (!r.ok) {
      bad.push({ path: c.path, reason: r.reason, kind: r.kind });
      continue;
    }
    let colorId = c.colorId;
    if (colorId !== UNKNOWN_COLOR && !headColorIds.has(colorId)) {
      outsideHead[colorId] = (outsideHead[colorId] ?? 0) + 1;
      colorId = UNKNOWN_COLOR;
    }
    const group = c.use === 'split' ? groupOf(c.path, split.group_by) : null;
    manifest.push({
      path: c.path,
      sha256: r.sha256,
      source: c.source,
      part_id: c.partId,
      color_id: colorId,
      split: c.use === 'split' ? assignSplit(group, r.sha256, split) : 'train',
      width: r.width,
      height: r.height,
      ...(group !== null ? { group } : {}),
    });
  }
  manifest.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  bad.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const splitSources = new Set(sources.filter((s) => s.use === 'split').map((s) => s.name));
  // No known color anywhere: the color head would learn nothing, so the model is part-only.
  const partOnly = manifest.length > 0 && manifest.every((m) => m.color_id === UNKNOWN_COLOR);
  const labels: Labels = {
    parts: targets.map((t) => t.id),
    colors: colors.map((c) => ({ id: c.id, name: c.name, rgb: c.rgb })),
    ...(partOnly ? { part_only: true } : {}),
  };
  return {
    manifest,
    labels,
    bad,
    summary: summarise(manifest, bad, hidden, outsideHead, targets, splitGroups(manifest, splitSources, split.group_by)),
    violations: [
      // A configured source that is not there is a typo or an unmounted disk, not bad data.
      ...bad.filter((b) => b.kind === 'missing-source').map((b) => ({ rule: 'sources', message: `${b.reason}: ${b.path} (config/data.yaml sources)` })),
      ...checkRules(manifest, targets, rules, split, splitSources),
    ],
  };
}

/** Groups of the split sources' images: a matched group id, or the image alone. */
function splitGroups(manifest: readonly ManifestEntry[], splitSources: ReadonlySet<string>, groupBy: string): SplitGroups {
  const sizes = new Map<string, number>();
  let grouped = 0;
  for (const m of manifest) {
    if (!splitSources.has(m.source)) continue;
    if (m.group !== undefined) grouped++;
    const key = m.group !== undefined ? `group:${m.group}` : `file:${m.path}`;
    sizes.set(key, (sizes.get(key) ?? 0) + 1);
  }
  const counts = [...sizes.values()];
  const images = counts.reduce((a, n) => a + n, 0);
  return {
    group_by: groupBy,
    groups: counts.length,
    grouped_images: grouped,
    matched_groups: [...sizes.keys()].filter((k) => k.startsWith('group:')).length,
    images_per_group: counts.length === 0 ? { min: 0, mean: 0, max: 0 } : { min: counts.reduce((a, n) => Math.min(a, n)), mean: Math.round((images / counts.length) * 100) / 100, max: counts.reduce((a, n) => Math.max(a, n)) },
  };
}

function summarise(manifest: readonly ManifestEntry[], bad: readonly BadFile[], hidden: number, outsideHead: Counts, targets: readonly TargetPart[], groups: SplitGroups): DatasetSummary {
  const bump = (o: Counts, k: string | number, n = 1) => (o[k] = (o[k] ?? 0) + n);
  const perSource: Record<string, Counts> = {};
  const perSplit: Counts = { train: 0, val: 0, test: 0 };
  const perPart: Record<string, Counts> = Object.fromEntries(targets.map((t) => [t.id, { total: 0, train: 0, val: 0, test: 0 }]));
  const perColor: Counts = {};
  const seen = new Map<string, number>();
  for (const m of manifest) {
    const s = (perSource[m.source] ??= { total: 0, train: 0, val: 0, test: 0 });
    bump(s, 'total');
    bump(s, m.split);
    bump(perSplit, m.split);
    bump(perPart[m.part_id]!, 'total');
    bump(perPart[m.part_id]!, m.split);
    bump(perColor, m.color_id);
    seen.set(m.sha256, (seen.get(m.sha256) ?? 0) + 1);
  }
  const byKind: Counts = {};
  let skippedFiles = 0;
  for (const b of bad) {
    skippedFiles += b.files ?? 1;
    bump(byKind, b.kind, b.files ?? 1);
  }
  return {
    images: manifest.length,
    per_source: perSource,
    per_split: perSplit,
    per_part: perPart,
    per_color: perColor,
    colors_outside_head: outsideHead,
    duplicate_images: [...seen.values()].filter((n) => n > 1).reduce((a, n) => a + n, 0),
    skipped: { files: skippedFiles, by_kind: byKind, hidden },
    split_groups: groups,
  };
}

/** Every target part needs real validation and test images (only when some source is split). */
function checkRules(manifest: readonly ManifestEntry[], targets: readonly TargetPart[], rules: FilterRules, split: SplitConfig, splitSources: ReadonlySet<string>): RuleViolation[] {
  if (splitSources.size === 0) return [];
  const counts = new Map<string, Record<Split, number>>(targets.map((t) => [t.id, { train: 0, val: 0, test: 0 }]));
  for (const m of manifest) if (splitSources.has(m.source)) counts.get(m.part_id)![m.split]++;
  const violations: RuleViolation[] = [];
  const check = (which: 'test' | 'val', min: number, rule: string) => {
    if (min <= 0) return;
    const short = targets.filter((t) => counts.get(t.id)![which] < min);
    if (short.length === 0) return;
    const ids = short.map((t) => t.id);
    // Captures land in `which` with probability split[which]: this many give `min` on average.
    const perPart = Math.ceil(min / Math.max(split[which], 1e-9));
    violations.push({
      rule,
      message: `filter.${rule} is ${min}: ${short.length} target part(s) have fewer real ${which} images: ${short.map((t) => `${t.id} (${counts.get(t.id)![which]})`).join(', ')}`,
      parts: ids,
      ways_out: [
        `photograph more of these parts: with split.${which} ${split[which]}, about ${perPart} captures of a part give it ${min} ${which} image(s) on average`,
        `or lower filter.${rule} in config/data.yaml (0 turns the rule off; parts without ${which} images are then missing from the ${which} figures)`,
        `or drop these parts from config/target_parts.json: ${ids.join(', ')}`,
      ],
    });
  };
  check('test', rules.min_test_per_part, 'min_test_per_part');
  check('val', rules.min_val_per_part, 'min_val_per_part');
  return violations;
}

/** Maps with at most `limit` calls in flight, keeping the order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  await boundedEach(items, limit, async (item, i) => {
    out[i] = await fn(item);
  });
  return out;
}
