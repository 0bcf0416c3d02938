// A run's metrics.jsonl: one JSON record per line, loss records and validation records, each with
// its step.

import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';

export type MetricsRecord = Record<string, number>;

export class MetricsLog {
  constructor(readonly file: string) {}

  /** The records up to and including `upToStep` (none if the file does not exist yet). */
  read(upToStep: number): MetricsRecord[] {
    if (!existsSync(this.file)) return [];
    return readFileSync(this.file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as MetricsRecord)
      .filter((r) => r.step <= upToStep);
  }

  /** Keeps only the records up to the checkpoint at `step`: a resumed run rewrites what came after it. */
  truncate(step: number): void {
    writeFileSync(this.file, this.read(step).map((r) => JSON.stringify(r) + '\n').join(''));
  }

  append(record: MetricsRecord): void {
    appendFileSync(this.file, JSON.stringify(record) + '\n');
  }
}
