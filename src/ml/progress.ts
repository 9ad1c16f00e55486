// Progress of a long loop over a known number of items: a bar redrawn in place on a TTY, a
// counted line every few seconds otherwise (so CI logs and the engine's prefixed output stay
// readable), and one final line with the rate, printed when the count reaches the total or at
// finish(), whichever comes first.

export class Progress {
  private done = 0;
  private readonly started = Date.now();
  private lastPrint = Date.now();
  private finished = false;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly out: NodeJS.WriteStream = process.stdout,
    /** Milliseconds between counted lines when not on a TTY. */
    private readonly everyMs = 3000,
  ) {}

  tick(n = 1): void {
    if (this.finished) return;
    this.done += n;
    if (this.done >= this.total) {
      this.finish();
      return;
    }
    const now = Date.now();
    // A bar costs one redrawn line, so it can move often; a log line every few seconds is plenty.
    if (now - this.lastPrint >= (this.out.isTTY ? 100 : this.everyMs)) {
      this.lastPrint = now;
      this.print(false);
    }
  }

  /** Prints the final line (once, even if the total was reached already); returns items per second. */
  finish(): number {
    if (!this.finished) {
      this.finished = true;
      this.print(true);
    }
    return this.rate();
  }

  rate(): number {
    return this.done / Math.max(1e-3, this.seconds());
  }

  private seconds(): number {
    return (Date.now() - this.started) / 1000;
  }

  private print(final: boolean): void {
    const pct = this.total <= 0 ? 100 : Math.min(100, Math.floor((100 * this.done) / this.total));
    const text = `${this.label}: ${this.done}/${this.total} (${pct}%, ${this.rate().toFixed(1)}/s, ${this.seconds().toFixed(1)} s)`;
    if (this.out.isTTY) {
      const width = 24;
      const filled = Math.round((width * pct) / 100);
      this.out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}${final ? '\n' : ''}`);
    } else {
      this.out.write(`${text}\n`);
    }
  }
}
