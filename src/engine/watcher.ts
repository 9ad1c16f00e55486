// Watch mode's state machine: file changes in, at most one run at a time out. A burst of
// changes becomes one run after a quiet period; a change during a run queues exactly one
// rerun (or, with cancelRunning, stops the run and starts over).
//
//                   change                      quiet period over
//   +----------+ ----------> +------------+ -----------------------> +---------+
//   | watching |             | debouncing | <-+ change (timer reset)  | running |
//   +----------+ <---------- +------------+ --+                       +---------+
//        ^          (never)         ^                                   |     |
//        |                          |   run done       +--------+  change |     |
//        |                          +----------------- | queued | <-------+     |
//        |                                             +--------+ (cancelRunning:
//        +--------------------- run done ------------------------- also aborts the run)
//
//   any state --stop()--> stopped (a running run is aborted and awaited; no more runs)
//
// The first run starts at once, so the project is brought up to date before watching.
import type { FSWatcher } from 'chokidar';

export type WatchState = 'watching' | 'debouncing' | 'running' | 'queued' | 'stopped';

export interface WatcherOptions {
  /** Absolute paths (files or folders, existing or not) whose changes trigger a run. */
  paths: string[];
  /** Changes under these absolute paths never trigger a run (the pipeline's outputs). */
  ignore: (absPath: string) => boolean;
  /** How long no change must arrive before a run starts. */
  quietMs: number;
  /** A file counts as written once its size held still this long (chokidar awaitWriteFinish). */
  stabilityMs: number;
  /** A change during a run aborts it (outs are restored) instead of waiting for it. */
  cancelRunning: boolean;
  /** One round; `signal` aborts it. `changed` lists the paths since the previous round. */
  run: (signal: AbortSignal, changed: string[]) => Promise<void>;
  /** A round that threw: told so the watch can say it failed, then it goes on watching. */
  onRunError?: (err: unknown) => void;
  /** Told about every transition, for logs and tests. */
  onState?: (from: WatchState, to: WatchState, why: string) => void;
}

function reportRunError(err: unknown): void {
  process.stderr.write(`watch: the round failed: ${err instanceof Error ? err.message : String(err)}\n`);
}

export class Watcher {
  private state: WatchState = 'watching';
  private fsWatcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private abort: AbortController | undefined;
  private current: Promise<void> | undefined;
  private changed = new Set<string>();

  constructor(private readonly opts: WatcherOptions) {}

  get currentState(): WatchState {
    return this.state;
  }

  /** Starts watching and the first run; resolves once the file watcher is ready. */
  async start(): Promise<void> {
    const { watch } = await import('chokidar'); // loaded by `watch` only: other commands start without it
    const fsWatcher = watch(this.opts.paths, {
      ignoreInitial: true,
      ignored: (p: string) => this.opts.ignore(p),
      awaitWriteFinish: { stabilityThreshold: this.opts.stabilityMs, pollInterval: Math.min(100, this.opts.stabilityMs) },
    });
    this.fsWatcher = fsWatcher;
    fsWatcher.on('all', (_event, path) => this.onChange(path));
    await new Promise<void>((resolve) => fsWatcher.once('ready', () => resolve()));
    this.startRun('first run');
  }

  /** Stops watching; a running round is aborted and awaited. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.abort?.abort();
    this.transition('stopped', 'stop requested');
    await this.fsWatcher?.close();
    await this.current;
  }

  private transition(to: WatchState, why: string): void {
    const from = this.state;
    this.state = to;
    this.opts.onState?.(from, to, why);
  }

  private onChange(path: string): void {
    if (this.opts.ignore(path)) return;
    this.changed.add(path);
    switch (this.state) {
      case 'watching':
      case 'debouncing':
        this.debounce(`changed: ${path}`);
        return;
      case 'running':
        if (this.opts.cancelRunning) this.abort?.abort();
        this.transition('queued', `changed during the run: ${path}`);
        return;
      case 'queued':
      case 'stopped':
        return;
      default: {
        const never: never = this.state;
        throw new Error(`unknown watch state ${String(never)}`);
      }
    }
  }

  private debounce(why: string): void {
    clearTimeout(this.timer);
    if (this.state !== 'debouncing') this.transition('debouncing', why);
    this.timer = setTimeout(() => this.onQuiet(), this.opts.quietMs);
  }

  private onQuiet(): void {
    switch (this.state) {
      case 'debouncing':
        this.startRun('quiet period over');
        return;
      case 'watching':
      case 'running':
      case 'queued':
      case 'stopped':
        return; // a stale timer: the state moved on without it
      default: {
        const never: never = this.state;
        throw new Error(`unknown watch state ${String(never)}`);
      }
    }
  }

  private startRun(why: string): void {
    this.transition('running', why);
    const changed = [...this.changed].sort();
    this.changed.clear();
    this.abort = new AbortController();
    this.current = this.opts
      .run(this.abort.signal, changed)
      // A failed round is reported, never silent; the watch goes on.
      .catch((err: unknown) => (this.opts.onRunError ?? reportRunError)(err))
      .then(() => this.onRunDone());
  }

  private onRunDone(): void {
    switch (this.state) {
      case 'running':
        this.transition('watching', 'run done');
        return;
      case 'queued':
        this.debounce('run done, changes queued');
        return;
      case 'stopped':
        return;
      case 'watching':
      case 'debouncing':
        throw new Error(`run finished while ${this.state}: a bug in the watcher`);
      default: {
        const never: never = this.state;
        throw new Error(`unknown watch state ${String(never)}`);
      }
    }
  }
}
