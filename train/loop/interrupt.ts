// Ctrl-C and SIGTERM during training: the first lets the current step finish and the run save a
// checkpoint before it exits; a second aborts at once (exit status 130).

type Signal = 'SIGINT' | 'SIGTERM';

export class Interrupt {
  /** The signal received, or null while there was none. */
  signal: Signal | null = null;
  private readonly handlers = { SIGINT: this.handler('SIGINT'), SIGTERM: this.handler('SIGTERM') };

  listen(): void {
    for (const [sig, h] of Object.entries(this.handlers)) process.on(sig, h);
  }

  stop(): void {
    for (const [sig, h] of Object.entries(this.handlers)) process.off(sig, h);
  }

  private handler(sig: Signal): () => void {
    return () => {
      if (this.signal) process.exit(130);
      this.signal = sig;
      console.error(`\n${sig}: finishing this step, saving a checkpoint, then exiting (again to abort)`);
    };
  }
}
