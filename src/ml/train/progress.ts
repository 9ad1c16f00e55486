/**
 * Per-epoch progress: a `\r`-updated bar with loss, learning rate, images/s and ETA on a
 * TTY; otherwise one counted line every few seconds (logs stay readable in CI and when
 * the engine prefixes lines).
 */
export interface ProgressSink {
  isTTY: boolean;
  write(text: string): void;
}

const stdoutSink: ProgressSink = {
  isTTY: Boolean(process.stdout.isTTY),
  write: (text) => { process.stdout.write(text); },
};

export class EpochProgress {
  private readonly started = Date.now();
  private lastLine = 0;
  private images = 0;

  constructor(
    private readonly epoch: number,     // 1-based for people
    private readonly epochs: number,
    private readonly steps: number,
    private readonly sink: ProgressSink = stdoutSink,
    private readonly lineEveryMs = 5000,
  ) {}

  /** Record that `step` (1-based) of this epoch finished with `batchImages` images. */
  update(step: number, batchImages: number, loss: number, lr: number): void {
    this.images += batchImages;
    const elapsed = (Date.now() - this.started) / 1000;
    const rate = this.images / Math.max(elapsed, 1e-3);
    const eta = ((this.steps - step) * elapsed) / step;
    const text = `epoch ${this.epoch}/${this.epochs} step ${step}/${this.steps} loss ${loss.toFixed(4)} lr ${lr.toExponential(2)} ${rate.toFixed(1)} img/s ETA ${formatSeconds(eta)}`;
    if (this.sink.isTTY) {
      const width = 20;
      const filled = Math.round((width * step) / this.steps);
      this.sink.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
      if (step === this.steps) this.sink.write('\n');
    } else if (Date.now() - this.lastLine >= this.lineEveryMs || step === this.steps) {
      this.lastLine = Date.now();
      this.sink.write(`${text}\n`);
    }
  }

  /** Images per second over the epoch so far. */
  imagesPerSecond(): number {
    return this.images / Math.max((Date.now() - this.started) / 1000, 1e-3);
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}
