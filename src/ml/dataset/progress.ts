// Progress for long loops: a bar redrawn in place on a TTY, a counted line every few seconds otherwise.

export class Progress {
  private done = 0;
  private readonly started = Date.now();
  private lastPrint = Date.now();
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly out: NodeJS.WriteStream = process.stdout,
    /** Seconds between counted lines when not on a TTY. */
    private readonly everySeconds = 3,
  ) {
    this.tty = Boolean(out.isTTY);
  }

  tick(n = 1): void {
    this.done += n;
    const now = Date.now();
    const gap = this.tty ? 100 : this.everySeconds * 1000;
    if (now - this.lastPrint >= gap && this.done < this.total) {
      this.lastPrint = now;
      this.print(false);
    }
  }

  /** Prints the final line with the rate; returns items per second. */
  finish(): number {
    this.print(true);
    return this.rate();
  }

  rate(): number {
    return this.done / Math.max(1e-3, (Date.now() - this.started) / 1000);
  }

  private print(final: boolean): void {
    const pct = this.total === 0 ? 100 : Math.floor((100 * this.done) / this.total);
    const text = `${this.label}: ${this.done}/${this.total} (${pct}%, ${this.rate().toFixed(1)}/s)`;
    if (this.tty) {
      const width = 24;
      const filled = Math.round((width * pct) / 100);
      this.out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}${final ? '\n' : ''}`);
    } else {
      this.out.write(`${text}\n`);
    }
  }
}
