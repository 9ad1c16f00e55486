/**
 * Reads the per-epoch history out of the train stage's metrics file
 * (artifacts/metrics/train.json) for the report's training curves. The train stage owns
 * that file's detail, so this reader accepts the usual shapes rather than one exact schema.
 */
import { existsSync, readFileSync } from 'node:fs';

/** One number of one series at one epoch, e.g. {epoch: 3, series: 'val_part_acc', value: 0.71}. */
export interface HistoryPoint {
  epoch: number;
  series: string;
  value: number;
}

export type TrainingHistory = { ok: true; points: HistoryPoint[]; source: string } | { ok: false; reason: string };

type Json = unknown;

const CANDIDATE_KEYS = ['epochs', 'history', 'per_epoch', 'perEpoch', 'epoch_metrics'];

/** The first array of per-epoch records found at the top level or under `detail`. */
function findEpochRecords(doc: Json): Record<string, Json>[] | null {
  const places = [doc, (doc as { detail?: Json } | null)?.detail];
  for (const place of places) {
    if (!place || typeof place !== 'object') continue;
    if (Array.isArray(place)) return place as Record<string, Json>[];
    for (const key of CANDIDATE_KEYS) {
      const v = (place as Record<string, Json>)[key];
      if (Array.isArray(v) && v.length > 0 && typeof v[0] === 'object') return v as Record<string, Json>[];
      // Keras-style {loss: [..], val_acc: [..]}: series of numbers by name.
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        const series = Object.entries(v as Record<string, Json>).filter(([, xs]) => Array.isArray(xs));
        if (series.length > 0) {
          const n = Math.max(...series.map(([, xs]) => (xs as Json[]).length));
          return Array.from({ length: n }, (_, i) => Object.fromEntries(series.map(([k, xs]) => [k, (xs as Json[])[i]])));
        }
      }
    }
  }
  return null;
}

/** Points of every numeric series per epoch (epoch = the record's `epoch`, else its position + 1). */
export function historyFromJson(doc: Json, source: string): TrainingHistory {
  const records = findEpochRecords(doc);
  if (!records) return { ok: false, reason: `${source} has no per-epoch history (looked for ${CANDIDATE_KEYS.join(', ')})` };
  const points: HistoryPoint[] = [];
  records.forEach((r, i) => {
    const epoch = typeof r['epoch'] === 'number' ? r['epoch'] : i + 1;
    for (const [series, value] of Object.entries(r)) {
      if (series === 'epoch' || typeof value !== 'number' || !Number.isFinite(value)) continue;
      points.push({ epoch, series, value });
    }
  });
  if (points.length === 0) return { ok: false, reason: `${source}: the per-epoch records hold no numbers` };
  return { ok: true, points, source };
}

export function readTrainingHistory(file: string): TrainingHistory {
  if (!existsSync(file)) return { ok: false, reason: `${file} does not exist (the train stage writes it)` };
  let doc: Json;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return { ok: false, reason: `${file} is not valid JSON: ${(err as Error).message}` };
  }
  return historyFromJson(doc, file);
}
