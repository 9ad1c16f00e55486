// Progress of a long loop: a bar redrawn in place on a TTY, a counted line every few
// seconds otherwise (so CI logs and the engine's prefixed output stay readable).

export class Progress {
  private done = 0;
  private readonly started = Date.now();
  private lastPrint = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stdout,
    private readonly everyMs = 3000,
  ) {}

  tick(n = 1): void {
    this.done += n;
    const now = Date.now();
    if (this.stream.isTTY) {
      if (now - this.lastPrint < 100 && this.done < this.total) return;
      this.lastPrint = now;
      const width = 30;
      const filled = this.total ? Math.round((this.done / this.total) * width) : width;
      this.stream.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.line()}`);
      if (this.done >= this.total) this.stream.write('\n');
    } else if (now - this.lastPrint >= this.everyMs || this.done >= this.total) {
      this.lastPrint = now;
      this.stream.write(`${this.label}: ${this.line()}\n`);
    }
  }

  private line(): string {
    const s = (Date.now() - this.started) / 1000;
    const rate = s > 0 ? this.done / s : 0;
    return `${this.done}/${this.total} images, ${rate.toFixed(1)}/s, ${s.toFixed(1)} s`;
  }
}
