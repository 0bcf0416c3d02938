// Training progress: a one-line bar redrawn in place on a terminal, plain log
// lines otherwise (CI logs, files, pipes).

const formatDuration = (s: number): string => {
  if (!Number.isFinite(s)) return '--:--';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return `${h ? `${h}:` : ''}${String(m).padStart(h ? 2 : 1, '0')}:${String(sec).padStart(2, '0')}`;
};

/** Whether the user's stderr is a terminal; under bin/lmfn.mjs ours is a pipe to the supervisor, which tells us. */
export function stderrIsTerminal(): boolean {
  return Boolean(process.stderr.isTTY) || process.env.LMFN_STDERR_TTY === '1';
}

export class Progress {
  private readonly tty: boolean;
  private readonly started = performance.now();
  private lastLine = 0;
  private lastPrintedStep = 0;

  constructor(
    private readonly firstStep: number,
    private readonly totalSteps: number,
    /** Plain mode prints a line every this many steps. */
    private readonly every: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = (stream === process.stderr ? stderrIsTerminal() : Boolean(stream.isTTY)) && !process.env.CI;
  }

  /** Steps per second since this run (not the resumed one) started. */
  rate(step: number): number {
    return (step - this.firstStep) / ((performance.now() - this.started) / 1000);
  }

  update(step: number, loss: number, lr: number): void {
    const rate = this.rate(step);
    const eta = (this.totalSteps - step) / rate;
    const stats = `loss ${loss.toExponential(3)}  lr ${lr.toExponential(1)}  ${rate.toFixed(2)} steps/s  ETA ${formatDuration(eta)}`;
    if (this.tty) {
      const now = performance.now();
      if (now - this.lastLine < 100 && step < this.totalSteps) return;
      this.lastLine = now;
      const width = 24;
      const filled = Math.round((width * step) / this.totalSteps);
      const bar = `[${'='.repeat(Math.max(0, filled - 1))}${filled ? '>' : ''}${' '.repeat(width - filled)}]`;
      this.stream.write(`\r\x1b[K${bar} step ${step}/${this.totalSteps}  ${stats}`);
    } else if (step - this.lastPrintedStep >= this.every || step === this.totalSteps) {
      this.lastPrintedStep = step;
      this.stream.write(`step ${step}/${this.totalSteps}  ${stats}\n`);
    }
  }

  /** Prints a full line without tearing the bar. */
  log(line: string): void {
    this.stream.write(this.tty ? `\r\x1b[K${line}\n` : `${line}\n`);
  }

  elapsed(): string {
    return formatDuration((performance.now() - this.started) / 1000);
  }
}
