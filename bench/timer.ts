// Timing of GPU work for the benchmarks: median of repeated samples after
// warm-up, never an await per op.
//
// Each sample records `reps` back-to-back repetitions of the work into one
// compute pass of one submit, then waits once; the per-repetition time is the
// sample's time / reps. `reps` is chosen from a timed warm-up run so a sample
// lasts about `targetMs`, which amortises the submit-and-wait latency
// (~0.1 ms on Dawn/llvmpipe) over many repetitions of a short kernel.
//
// Where the adapter grants 'timestamp-query', a sample's time is GPU time:
// the sum over its compute passes of (end − beginning) timestamps. Otherwise
// (the CPU adapter, llvmpipe, has no timestamps) it is the wall-clock time
// from the first recorded command to the end of `await device.sync()`.

import type { Device } from '../engine/node/index.ts';

export type TimingMethod = 'gpu-timestamps' | 'wall-clock';

export interface Timing {
  /** Median time per repetition, ms. */
  medianMs: number;
  minMs: number;
  /** Time per repetition of every sample, ms. */
  samplesMs: number[];
  /** Repetitions recorded back to back into each sample. */
  repsPerSample: number;
  /** 'wall-clock' also where a timestamp sample came back unusable. */
  method: TimingMethod;
}

export interface TimeOptions {
  /** Timed samples wanted. */
  samples: number;
  /** Untimed runs first (pipeline compilation, pool warm-up); default 1. */
  warmup?: number;
  /** How long one sample should last, ms; default 50 (wall clock) or 20 (timestamps). */
  targetMs?: number;
  /** Stop sampling after this long, once `minSamples` are in; default 8000 ms. */
  budgetMs?: number;
  /** Default 3 (or `samples` if fewer). */
  minSamples?: number;
  /** Most repetitions per sample; default 512. */
  maxReps?: number;
}

/** Compute passes one timestamp sample may use; the work of a kernel row uses one. */
const MAX_PASSES = 64;

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export class Timer {
  readonly method: TimingMethod;
  private readonly querySet: GPUQuerySet | null = null;
  private readonly resolveBuffer: GPUBuffer | null = null;
  private readonly readBuffer: GPUBuffer | null = null;

  constructor(readonly device: Device, options: { timestamps?: boolean } = {}) {
    const useTimestamps = device.description.timestampQuery && options.timestamps !== false;
    this.method = useTimestamps ? 'gpu-timestamps' : 'wall-clock';
    if (useTimestamps) {
      const gpu = device.gpu;
      this.querySet = gpu.createQuerySet({ type: 'timestamp', count: 2 * MAX_PASSES });
      this.resolveBuffer = gpu.createBuffer({ size: 16 * MAX_PASSES, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
      this.readBuffer = gpu.createBuffer({ size: 16 * MAX_PASSES, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    }
  }

  /** Wall-clock ms of one run of `work` including its sync. */
  async once(work: () => void): Promise<number> {
    await this.device.sync();
    const t0 = performance.now();
    work();
    await this.device.sync();
    return performance.now() - t0;
  }

  /**
   * Times `work`, which records GPU work (launches, ops) and must not await.
   * It runs warmup + 1 (+ a probe sample with timestamps) + samples·reps times in all.
   */
  async time(work: () => void, options: TimeOptions): Promise<Timing> {
    const { samples, warmup = 1, budgetMs = 8000, maxReps = 512 } = options;
    const targetMs = options.targetMs ?? (this.method === 'gpu-timestamps' ? 20 : 50);
    const minSamples = Math.min(samples, options.minSamples ?? 3);
    for (let i = 0; i < warmup; i++) await this.once(work);
    const estimate = await this.once(work);
    let reps = Math.max(1, Math.min(maxReps, Math.round(targetMs / Math.max(estimate, 1e-3))));
    let useTimestamps = this.method === 'gpu-timestamps';
    if (useTimestamps) {
      // The wall-clock estimate includes the submit-and-wait latency, which can
      // dwarf a short kernel's GPU time: size the samples from GPU time instead.
      const probe = await this.gpuSample(work, reps);
      if (probe !== null && probe < targetMs / 2) reps = Math.min(maxReps, Math.ceil((reps * targetMs) / Math.max(probe, 1e-3)));
    }
    const perRep: number[] = [];
    const start = performance.now();
    while (perRep.length < samples) {
      let ms = useTimestamps ? await this.gpuSample(work, reps) : null;
      if (ms === null) {
        // One method per row: an unusable timestamp sample turns the whole row to wall clock.
        if (useTimestamps) perRep.length = 0;
        useTimestamps = false;
        ms = await this.wallSample(work, reps);
      }
      perRep.push(ms / reps);
      if (perRep.length >= minSamples && performance.now() - start > budgetMs) break;
    }
    const method: TimingMethod = useTimestamps ? 'gpu-timestamps' : 'wall-clock';
    return { medianMs: median(perRep), minMs: Math.min(...perRep), samplesMs: perRep, repsPerSample: reps, method };
  }

  private async wallSample(work: () => void, reps: number): Promise<number> {
    await this.device.sync();
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) work();
    await this.device.sync();
    return performance.now() - t0;
  }

  /** GPU ms of `reps` runs from pass timestamps, or null when they are unusable (too many passes, zero or negative spans). */
  private async gpuSample(work: () => void, reps: number): Promise<number | null> {
    const device = this.device;
    await device.sync();
    let passes = 0;
    let overflow = false;
    device.passTimestamps = () => {
      if (passes >= MAX_PASSES) {
        overflow = true;
        return undefined;
      }
      const k = passes++;
      return { querySet: this.querySet!, beginningOfPassWriteIndex: 2 * k, endOfPassWriteIndex: 2 * k + 1 };
    };
    try {
      for (let r = 0; r < reps; r++) work();
      device.flush();
    } finally {
      device.passTimestamps = null;
    }
    if (passes === 0 || overflow) {
      await device.sync();
      return null;
    }
    const bytes = 16 * passes;
    const encoder = device.commandEncoder();
    encoder.resolveQuerySet(this.querySet!, 0, 2 * passes, this.resolveBuffer!, 0);
    encoder.copyBufferToBuffer(this.resolveBuffer!, 0, this.readBuffer!, 0, bytes);
    device.flush();
    await this.readBuffer!.mapAsync(GPUMapMode.READ, 0, bytes);
    const stamps = new BigUint64Array(this.readBuffer!.getMappedRange(0, bytes).slice(0));
    this.readBuffer!.unmap();
    await device.sync();
    let ns = 0n;
    for (let k = 0; k < passes; k++) {
      const span = stamps[2 * k + 1] - stamps[2 * k];
      if (stamps[2 * k] === 0n || span <= 0n) return null;
      ns += span;
    }
    return Number(ns) / 1e6;
  }

  dispose(): void {
    this.querySet?.destroy();
    this.resolveBuffer?.destroy();
    this.readBuffer?.destroy();
  }
}
