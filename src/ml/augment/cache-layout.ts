// Where things live in artifacts/augment-cache/ and the shape of its index.json; shared by
// the writer (build-cache.ts) and the reader (src/ml/augment-cache-reader.ts).
import { join } from 'node:path';
import type { Split } from './dataset-input.ts';

/** One split's packed samples: `file` holds n * height * width * 3 bytes, uint8 RGB HWC. */
export interface SplitIndex {
  file: string;
  n: number;
  height: number;
  width: number;
  part_index: number[];
  color_index: number[];
  source: string[];
  weight: number[];
  path: string[];
}

export interface CacheIndex {
  format: number;
  input_size: number;
  variants: number;
  augment_params: string;
  splits: Record<Split, SplitIndex>;
}

export const INDEX_FILE = 'index.json';
export const LABELS_FILE = 'labels.json';
export const REPORT_FILE = 'report.json';
export const CONTACT_SHEET_FILE = 'contact_sheet.png';
export const BLOB_DIR = 'blobs';

export function blobPath(cacheDir: string, key: string): string {
  return join(cacheDir, BLOB_DIR, key.slice(0, 2), `${key}.u8`);
}
