/**
 * "Is it learned?": the model's accuracy on a fixed sample of its own training images, per
 * source, un-augmented (plain resizes of the dataset's files, as val and test are). Beside
 * the test accuracy it tells "renders are not learned" (low fit) from "real captures are
 * memorised" (high fit, low test). The sample is the first images per source by content hash,
 * so it is the same across runs and seeds; measuring runs inference only, after training, so it
 * cannot change the trained model.
 */
import type * as tf from '@tensorflow/tfjs';
import { resolve } from 'node:path';
import { classIndexer, type Labels, type ManifestEntry } from '../augment/dataset-input.ts';
import { collectLogits } from '../metrics/collect-logits.ts';
import { scoreLogits } from '../metrics/ranking.ts';
import { resizeImage } from '../preprocess.ts';

/** Images per source: enough for a ±12-point reading, cheap to decode and score. */
export const TRAIN_FIT_PER_SOURCE = 64;

export interface SourceFit {
  part_top1: number;
  /** null when no sampled image of the source has a known color. */
  color_acc: number | null;
  n: number;
}

export interface TrainFit {
  bySource: Record<string, SourceFit>;
  /** Sampled files that could not be decoded (left out). */
  unreadable: string[];
}

/** The fixed sample: per source, the train entries of head parts with the smallest sha256 (ties by path). */
export function trainFitSample(entries: readonly ManifestEntry[], labels: Labels, perSource = TRAIN_FIT_PER_SOURCE): ManifestEntry[] {
  const index = classIndexer(labels);
  const bySource = new Map<string, ManifestEntry[]>();
  for (const e of entries) {
    if (e.split !== 'train' || index(e).part < 0) continue;
    bySource.set(e.source, [...(bySource.get(e.source) ?? []), e]);
  }
  const order = (a: ManifestEntry, b: ManifestEntry) => (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  return [...bySource.keys()].sort().flatMap((s) => bySource.get(s)!.sort(order).slice(0, perSource));
}

/** Decodes the sample (paths relative to `root`) at `size`² and scores `model` on it, per source. */
export async function measureTrainFit(args: {
  model: tf.LayersModel;
  sample: readonly ManifestEntry[];
  labels: Labels;
  root: string;
  size: number;
  batchSize: number;
}): Promise<TrainFit> {
  const { sample, size } = args;
  const index = classIndexer(args.labels);
  const pixels = size * size * 3;
  const kept: ManifestEntry[] = [];
  const unreadable: string[] = [];
  const images = new Uint8Array(sample.length * pixels);
  for (const e of sample) {
    try {
      images.set(await resizeImage(resolve(args.root, e.path), size), kept.length * pixels);
      kept.push(e);
    } catch {
      unreadable.push(e.path);
    }
  }
  const split = { height: size, width: size, images };
  const bySource: Record<string, SourceFit> = {};
  for (const source of [...new Set(kept.map((e) => e.source))]) {
    const rows = kept.flatMap((e, i) => (e.source === source ? [i] : []));
    const logits = await collectLogits(args.model, split, rows, args.batchSize);
    const classes = rows.map((r) => index(kept[r]!));
    const s = scoreLogits(logits, classes.map((c) => c.part), classes.map((c) => c.color), 1);
    bySource[source] = { part_top1: s.part_top1, color_acc: s.color_acc, n: s.n };
  }
  return { bySource, unreadable };
}
