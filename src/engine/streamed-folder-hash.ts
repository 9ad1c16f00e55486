// A folder the stat cache knows nothing of (its first hash, or a cache cleared) must have
// every file read. Its listing records are hashed as the lister streams them, on worker
// threads that also make each file's manifest line and stat-cache record, so the main thread
// keeps no per-file object and the reads overlap the listing.
import { HashPool, PARALLEL_THRESHOLD, recordBatches, type RecordsHashed } from './hash-pool.ts';

/** A whole folder hashed from its records. */
export interface FolderHashed {
  /** The folder's manifest: every file's `path NUL hash LF` line, sorted as manifestHash sorts them. */
  manifest: string;
  /** Stat-cache set records of the files read (StatCache.addEncoded), with how many each holds. */
  log: { buf: Buffer; records: number }[];
  files: number;
  bytes: number;
  /** Files that could not be read: path below the folder, error code. */
  errors: [string, string][];
}

/**
 * One folder's files hashed from its listing records, fed as they arrive. Records are held
 * until PARALLEL_THRESHOLD files are seen; a smaller folder is hashed on this thread at the
 * end, where starting threads would cost more than they save.
 */
export class StreamedFolderHash {
  private readonly pool = new HashPool();
  private threaded = false;
  /** Batches kept until the threads start (or the end), with their file counts. */
  private held: { batch: Uint8Array; files: number }[] = [];
  private readonly parts: Promise<RecordsHashed>[] = [];
  private seen = 0;
  private done = 0;
  /** Set when the lister is done: no more records come. */
  private listed = false;

  constructor(
    private readonly root: string,
    private readonly folder: string,
    private readonly onProgress?: (done: number, total: number, listing: boolean) => void,
  ) {}

  /** Whole records (file-lister.ts), left unchanged by the caller from now on. */
  feed(records: Uint8Array): void {
    for (const batch of recordBatches(records)) {
      const files = countFiles(batch);
      this.seen += files;
      if (this.threaded) this.send(batch, files);
      else this.held.push({ batch, files });
    }
    if (!this.threaded && this.seen >= PARALLEL_THRESHOLD) {
      this.threaded = true;
      for (const { batch, files } of this.held.splice(0)) this.send(batch, files);
    }
  }

  /** Every file fed, hashed; the manifest sorted. */
  async finish(): Promise<FolderHashed> {
    this.listed = true;
    let parts: RecordsHashed[];
    if (this.threaded) parts = await Promise.all(this.parts);
    else {
      parts = this.held.map(({ batch }) => this.pool.hashRecordsHere(this.root, this.folder, batch));
      this.held = [];
    }
    if (this.seen > 0) this.onProgress?.(this.seen, this.seen, false);
    return {
      manifest: sortedLines(parts.map((p) => p.lines)),
      log: parts.map((p) => ({ buf: p.log, records: p.logRecords })),
      files: parts.reduce((n, p) => n + p.files, 0),
      bytes: parts.reduce((n, p) => n + p.bytes, 0),
      errors: parts.flatMap((p) => p.errors),
    };
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private send(batch: Uint8Array, files: number): void {
    const part = this.pool.hashRecords(this.root, this.folder, batch);
    this.parts.push(part);
    void part.then(
      () => {
        this.done += files;
        if (this.done < this.seen || !this.listed) this.onProgress?.(this.done, this.seen, !this.listed); // the last one: finish()
      },
      () => {}, // the failure reaches finish()
    );
  }
}

/** Regular files among whole records: those whose type letter (after a NUL, or first) is `f`. */
function countFiles(records: Uint8Array): number {
  let n = records.length > 0 && records[0] === 102 ? 1 : 0;
  for (let i = records.indexOf(0); i >= 0 && i + 1 < records.length; i = records.indexOf(0, i + 1)) if (records[i + 1] === 102) n++;
  return n;
}

/** Sorted runs of manifest lines merged into one sorted manifest (JS's order, as manifestHash's sort). */
function sortedLines(runs: string[]): string {
  const lines: string[] = [];
  for (const run of runs) {
    // A line is `path NUL hash LF`: a path may hold LF but never NUL, a hash neither.
    for (let s = 0; s < run.length; ) {
      const e = run.indexOf('\n', run.indexOf('\0', s)) + 1;
      lines.push(run.slice(s, e));
      s = e;
    }
  }
  lines.sort(); // runs sorted already: the sort merges them
  return lines.join('');
}
