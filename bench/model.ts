// `lmfn bench model`: LMFN end to end. Inference (noGrad forward) at given
// image sizes, and a full training step (forward, MSE loss, backward, Adam
// with weight decay) at a given batch and crop, recorded exactly as
// `lmfn train` records it (uploads, one loss read-back per step).
//
// All model rows are wall clock, also where GPU timestamps exist: they are
// end-to-end latencies and throughputs, CPU-side recording included.

import { Adam, Tensor, noGrad, ops, tidy, type Device } from '../engine/node/index.ts';
import { LMFN, modelSize } from '../model/lmfn.ts';
import { autoTile, deblur } from '../model/deblur.ts';
import { median, type Timer } from './timer.ts';

export interface ModelResult {
  /** 'forward' (whole image), 'forward-tiled' (model/deblur.ts tiles) or 'train-step'. */
  kind: 'forward' | 'forward-tiled' | 'train-step';
  /** e.g. '256×256', '720×1280 (tiled 256, overlap 32)', '4×64² crop'. */
  workload: string;
  batch: number;
  height: number;
  width: number;
  /** Null when skipped. */
  ms: number | null;
  minMs: number | null;
  samples: number;
  imagesPerSecond: number | null;
  /** GPU dispatches per forward / per step (device.dispatchCount delta). */
  dispatches: number | null;
  /** Queue submits per forward / per step. */
  submits: number | null;
  /** Highest bytes held by live tensors during one forward / step (parameters and optimizer state included). */
  peakBytes: number | null;
  /** Live + pooled bytes after it: what the engine holds from the device. */
  heldBytes: number | null;
  /** Why a row was not run. */
  skipped?: string;
  note?: string;
}

export interface ModelBenchOptions {
  sizes: [number, number][];
  trainBatch: number;
  trainCrop: number;
  samples: number;
  /** Timed runs of the tiled path (each is a whole image, tens of seconds on llvmpipe). */
  tiledSamples: number;
  budgetMs: number;
  onRow?: (row: ModelResult) => void;
}

/** Parses '256,720x1280' into [[256,256],[720,1280]]. */
export function parseSizes(text: string): [number, number][] {
  return text.split(',').map((s) => {
    const d = s.trim().split(/[x×]/).map(Number);
    const [h, w] = d.length === 1 ? [d[0], d[0]] : d;
    if (d.length > 2 || !Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) {
      throw new RangeError(`--sizes: '${s}' is not N or HxW`);
    }
    return [h, w];
  });
}

function randomImage(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 4294967296;
  }
  return out;
}

/** Dispatches, submits and memory of one run of `work` (synchronised before and after). */
async function countOne(device: Device, work: () => void): Promise<Pick<ModelResult, 'dispatches' | 'submits' | 'peakBytes' | 'heldBytes'>> {
  await device.sync();
  device.pool.resetPeak();
  const dispatches = device.dispatchCount;
  const submits = device.epoch;
  work();
  await device.sync();
  const mem = device.memory();
  return {
    dispatches: device.dispatchCount - dispatches,
    // The sync's own submit is the one a caller reading the result would make.
    submits: device.epoch - submits,
    peakBytes: mem.peakBytes,
    heldBytes: mem.liveBytes + mem.pooledBytes,
  };
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

async function forwardRows(device: Device, timer: Timer, model: LMFN, h: number, w: number, o: ModelBenchOptions): Promise<ModelResult[]> {
  const [ph, pw] = modelSize(h, w);
  const base = { batch: 1, height: h, width: w };
  const workload = `${h}×${w}${ph !== h || pw !== w ? ` (padded to ${ph}×${pw})` : ''}`;
  // The largest activation: 64 channels at full size, after the encoder's head conv.
  const largest = 64 * ph * pw * 4;
  const limit = device.limits.maxStorageBufferBindingSize;
  const rows: ModelResult[] = [];
  if (largest <= limit) {
    const x = Tensor.fromData(device, randomImage(3 * ph * pw, 7), [1, 3, ph, pw]);
    const work = () => noGrad(() => tidy(() => void model.forward(x)));
    const timing = await timer.time(work, { samples: o.samples, budgetMs: o.budgetMs });
    const counts = await countOne(device, work);
    x.dispose();
    rows.push({
      kind: 'forward', workload, ...base, ms: timing.medianMs, minMs: timing.minMs, samples: timing.samplesMs.length,
      imagesPerSecond: 1000 / timing.medianMs, ...counts,
    });
  } else {
    const skipped = `skipped: exceeds binding limit (its 64-channel full-size activation is ${mib(largest)}, the adapter binds at most ${mib(limit)})`;
    rows.push({ kind: 'forward', workload, ...base, ms: null, minMs: null, samples: 0, imagesPerSecond: null, dispatches: null, submits: null, peakBytes: null, heldBytes: null, skipped });
  }
  if (largest > limit) {
    // What `lmfn deblur` does with an image this large: overlapping tiles, read back and blended on the CPU.
    const tile = autoTile(device, h, w);
    const overlap = 32;
    const rgb = randomImage(3 * h * w, 11);
    const times: number[] = [];
    const run = () => deblur(model, rgb, h, w, { tile, overlap });
    await device.sync();
    device.pool.resetPeak();
    const dispatches = device.dispatchCount;
    const submits = device.epoch;
    for (let i = 0; i < o.tiledSamples; i++) {
      const t0 = performance.now();
      await run();
      times.push(performance.now() - t0);
    }
    const mem = device.memory();
    const ms = median(times);
    rows.push({
      kind: 'forward-tiled', workload: `${workload}, tiled ${tile}×${tile}, overlap ${overlap}`, ...base,
      ms, minMs: Math.min(...times), samples: times.length, imagesPerSecond: 1000 / ms,
      dispatches: Math.round((device.dispatchCount - dispatches) / times.length),
      submits: Math.round((device.epoch - submits) / times.length),
      peakBytes: mem.peakBytes, heldBytes: mem.liveBytes + mem.pooledBytes,
      note: 'model/deblur.ts: per-tile upload, forward, read-back and CPU blending; no warm-up run (the tile shape reuses the compiled kernels)',
    });
  }
  return rows;
}

/**
 * LMFN and its optimizer as `lmfn train` sets them up (Adam, weight decay
 * 1e-4), and `step()`: one training step on a fixed random batch × crop²
 * (upload, forward, MSE, backward, Adam), returning the loss, which the caller owns.
 */
export function trainStepFixture(device: Device, batch: number, crop: number): { step: () => Tensor; dispose: () => void } {
  const model = new LMFN(device, { seed: 0 });
  const optimizer = new Adam(model.parameters(), { lr: 1e-4, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-4 });
  const shape = [batch, 3, crop, crop];
  const blurData = randomImage(batch * 3 * crop * crop, 3);
  const sharpData = randomImage(batch * 3 * crop * crop, 5);
  const step = () =>
    tidy(() => {
      const blur = Tensor.fromData(device, blurData, shape);
      const sharp = Tensor.fromData(device, sharpData, shape);
      optimizer.zeroGrad();
      const l = ops.mseLoss(model.forward(blur), sharp);
      l.backward();
      optimizer.step();
      return l;
    });
  return {
    step,
    dispose: () => {
      optimizer.dispose();
      model.dispose();
    },
  };
}

async function trainRow(device: Device, timer: Timer, o: ModelBenchOptions): Promise<ModelResult> {
  const { trainBatch: batch, trainCrop: crop } = o;
  const fixture = trainStepFixture(device, batch, crop);
  const losses: Promise<Float32Array>[] = [];
  const step = () => {
    const loss = fixture.step();
    // As `lmfn train`: the loss is read back every step, which submits the step.
    losses.push(loss.read());
    loss.dispose();
  };
  try {
    const timing = await timer.time(step, { samples: o.samples, budgetMs: o.budgetMs });
    const counts = await countOne(device, step);
    const values = await Promise.all(losses.splice(0));
    const last = values[values.length - 1][0];
    return {
      kind: 'train-step', workload: `${batch}×${crop}² crops: forward, MSE, backward, Adam (weight decay 1e-4)`, batch, height: crop, width: crop,
      ms: timing.medianMs, minMs: timing.minMs, samples: timing.samplesMs.length, imagesPerSecond: (1000 * batch) / timing.medianMs, ...counts,
      ...(Number.isFinite(last) ? {} : { note: `the loss became ${last}` }),
    };
  } finally {
    await Promise.allSettled(losses);
    fixture.dispose();
  }
}

export async function runModelBench(device: Device, timer: Timer, o: ModelBenchOptions): Promise<ModelResult[]> {
  const rows: ModelResult[] = [];
  const emit = (r: ModelResult) => {
    rows.push(r);
    o.onRow?.(r);
  };
  const model = new LMFN(device, { seed: 0 });
  try {
    for (const [h, w] of o.sizes) for (const r of await forwardRows(device, timer, model, h, w, o)) emit(r);
  } finally {
    model.dispose();
  }
  device.emptyCache();
  emit(await trainRow(device, timer, o));
  device.emptyCache();
  return rows;
}
