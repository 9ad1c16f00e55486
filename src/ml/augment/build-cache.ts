// Builds artifacts/augment-cache from artifacts/dataset: makes the blobs that are missing
// (new images or changed settings), packs each split, writes the index, the report and
// the contact sheet, then drops what the dataset no longer references.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { isTempName, replaceFileSync } from '../../engine/atomic-write.ts';
import { augmentParamsHash, blobKey, CACHE_FORMAT, type BlobKind } from './cache-key.ts';
import {
  BLOB_DIR, blobPath, CONTACT_SHEET_FILE, INDEX_FILE, LABELS_FILE, REPORT_FILE, type CacheIndex, type SplitIndex,
} from './cache-layout.ts';
import { sourceWeight, workerCount, type AugmentConfig } from './config.ts';
import { writeContactSheet } from './contact-sheet.ts';
import { classIndexer, readDatasetInput, SPLITS, type ManifestEntry, type Split } from './dataset-input.ts';
import type { BlobTask } from './make-blob.ts';
import { packSplit } from './pack.ts';
import { Progress } from '../progress.ts';
import { BlobPool } from './worker-pool.ts';

export interface BuildOptions {
  /** Folder of manifest.jsonl + labels.json. */
  datasetDir: string;
  /** The cache folder (kept between runs). */
  cacheDir: string;
  /** Image paths in the manifest are relative to this (the project root). */
  root: string;
  /** model.input_size. */
  size: number;
  config: AugmentConfig;
  /** The evaluated source (split.evaluate_on): its samples get source_weights.evaluated; unset: none does. */
  evaluated?: string;
  /** The hash of the code that makes blobs (the engine's PIPELINE_CODE_FINGERPRINT), part of every key. */
  code?: string;
  /** Exactly this many worker threads (benchmarks, tests); otherwise config.workers is an upper bound. */
  threads?: number;
  log?: (line: string) => void;
}

export interface BadFile { path: string; reason: string }

export interface BuildSummary {
  images: number;
  made: number;
  reused: number;
  removedBlobs: number;
  bad: BadFile[];
  samples: Record<Split, number>;
  threads: number;
  seconds: number;
  /** Seconds per phase, to see where a rerun's time goes. */
  phases: { make: number; pack: number; sheet: number };
}

interface Item { entry: ManifestEntry; kind: BlobKind; key: string; part: number; color: number }

export async function buildAugmentCache(opts: BuildOptions): Promise<BuildSummary> {
  const started = Date.now();
  const log = opts.log ?? ((line: string) => console.log(line));
  const { config, size, cacheDir } = opts;
  const { labels, entries } = readDatasetInput(opts.datasetDir);
  const indexOf = classIndexer(labels);
  const bad: BadFile[] = [];

  const items: Item[] = [];
  for (const entry of entries) {
    const { part, color } = indexOf(entry);
    if (part < 0) { bad.push({ path: entry.path, reason: `part ${entry.part_id} is not in labels.json` }); continue; }
    const kind: BlobKind = entry.split === 'train' ? 'augmented' : 'resized';
    items.push({ entry, kind, key: blobKey(kind, entry.sha256, size, config, opts.code), part, color });
  }

  // Identical images (same content) share a blob: make each missing key once.
  const tasks = new Map<string, BlobTask>();
  for (const { entry, kind, key } of items) {
    if (tasks.has(key) || existsSync(blobPath(cacheDir, key))) continue;
    tasks.set(key, {
      file: resolve(opts.root, entry.path), kind, sha256: entry.sha256,
      size, variants: config.variants, seed: config.seed, ops: config.ops, out: blobPath(cacheDir, key),
    });
  }
  const threads = opts.threads ?? threadsFor(tasks.size, workerCount(config.workers, availableParallelism()));
  log(`augment-cache: ${items.length} images at ${size}px, ${tasks.size} to make, ${items.length - tasks.size} cached; ${threads} worker thread(s)`);
  const failed = new Map<string, string>();
  const phaseStart = Date.now();
  if (tasks.size > 0) {
    const progress = new Progress('augment-cache', tasks.size);
    const pool = new BlobPool(threads);
    try {
      await pool.runAll([...tasks.values()], (task, outcome) => {
        if (!outcome.ok) failed.set(task.out, outcome.reason);
        progress.tick();
      });
    } finally {
      await pool.close();
    }
  }

  const makeSeconds = (Date.now() - phaseStart) / 1000;
  const packStart = Date.now();
  const splits = {} as Record<Split, SplitIndex>;
  const keep = new Set<string>();
  for (const split of SPLITS) {
    const chosen = items.filter((it) => it.entry.split === split);
    const ok: Item[] = [];
    for (const it of chosen) {
      const reason = failed.get(blobPath(cacheDir, it.key));
      if (reason) bad.push({ path: it.entry.path, reason });
      else ok.push(it);
    }
    const perImage = split === 'train' ? config.variants : 1;
    const repeat = <T>(f: (it: Item) => T): T[] => ok.flatMap((it) => Array<T>(perImage).fill(f(it)));
    const file = packSplit(cacheDir, split, ok.map((it) => it.key));
    keep.add(file);
    splits[split] = {
      file, n: ok.length * perImage, height: size, width: size,
      part_index: repeat((it) => it.part),
      color_index: repeat((it) => it.color),
      source: repeat((it) => it.entry.source),
      weight: repeat((it) => sourceWeight(config, it.entry.source, opts.evaluated)),
      path: repeat((it) => it.entry.path),
    };
    for (const it of ok) keep.add(it.key);
  }

  const index: CacheIndex = { format: CACHE_FORMAT, input_size: size, variants: config.variants, augment_params: augmentParamsHash(config), splits };
  replaceFileSync(join(cacheDir, LABELS_FILE), JSON.stringify(labels, null, 1));
  replaceFileSync(join(cacheDir, INDEX_FILE), JSON.stringify(index));
  const removedBlobs = removeUnreferenced(cacheDir, keep);

  const packSeconds = (Date.now() - packStart) / 1000;
  const sheetStart = Date.now();
  const trainItems = items.filter((it) => it.entry.split === 'train' && keep.has(it.key));
  const rows = spread(trainItems, config.contact_sheet.originals)
    .map((it) => ({ original: resolve(opts.root, it.entry.path), blob: blobPath(cacheDir, it.key) }));
  await writeContactSheet(join(cacheDir, CONTACT_SHEET_FILE), rows, size, config.variants, config.contact_sheet.cell_px);

  const summary: BuildSummary = {
    images: items.length, made: tasks.size - failed.size, reused: items.length - tasks.size, removedBlobs, bad,
    samples: { train: splits.train.n, val: splits.val.n, test: splits.test.n }, threads, seconds: (Date.now() - started) / 1000,
    phases: { make: makeSeconds, pack: packSeconds, sheet: (Date.now() - sheetStart) / 1000 },
  };
  // Only what the inputs decide goes in the cache folder (run counts and timings would make
  // every rerun look like new data to the stages downstream); those are the caller's to log.
  replaceFileSync(join(cacheDir, REPORT_FILE), JSON.stringify({ images: summary.images, samples: summary.samples, bad_files: bad }, null, 1));
  for (const b of bad) log(`augment-cache: skipped ${b.path}: ${b.reason}`);
  log(`augment-cache: made ${summary.made}, reused ${summary.reused}, removed ${removedBlobs} stale blob(s), ${bad.length} bad; ` +
    `train ${splits.train.n} / val ${splits.val.n} / test ${splits.test.n} samples in ${summary.seconds.toFixed(1)} s`);
  return summary;
}

/**
 * A worker thread costs ~1.5 s to start here (tsx + sharp load in the thread), the time to
 * make a few hundred 64 px blobs in-process (bench/augment-stage.ts): small reruns stay in
 * the main thread, whose sharp calls still overlap the pixel work.
 */
const MIN_TASKS_PER_THREAD = 400;
function threadsFor(tasks: number, requested: number): number {
  return Math.min(requested, Math.floor(tasks / MIN_TASKS_PER_THREAD));
}

/** `n` items evenly spread over the list (so the sheet shows several parts). */
function spread<T>(list: readonly T[], n: number): T[] {
  if (list.length <= n) return [...list];
  return Array.from({ length: n }, (_, i) => list[Math.floor((i * list.length) / n)]!);
}

/** Deletes blobs and packed splits not in `keep`, and temp files a killed run left. */
function removeUnreferenced(cacheDir: string, keep: ReadonlySet<string>): number {
  let removed = 0;
  for (const name of readdirSync(cacheDir)) {
    if (isTempName(name) || (name.endsWith('.u8') && !keep.has(name))) rmSync(join(cacheDir, name), { force: true });
  }
  const blobRoot = join(cacheDir, BLOB_DIR);
  if (!existsSync(blobRoot)) return 0;
  for (const shard of readdirSync(blobRoot)) {
    const dir = join(blobRoot, shard);
    if (!statSync(dir).isDirectory()) continue;
    for (const name of readdirSync(dir)) {
      const key = name.replace(/\.u8$/, '');
      if (isTempName(name) || !keep.has(key)) {
        rmSync(join(dir, name), { force: true });
        if (!isTempName(name)) removed++;
      }
    }
    if (readdirSync(dir).length === 0) rmSync(dir, { recursive: true, force: true });
  }
  return removed;
}
