// Training batches, made ahead of the GPU in worker threads.
//
// Every batch is a pure function of (dataset, options, seed, batch index): which images it holds
// comes from a per-epoch permutation seeded by (seed, epoch), and each sample's crop, flips, kernel
// and noise from a Random seeded by (seed, batch, sample). So the sequence is the same however the
// workers are scheduled, and `startBatch: n` resumes exactly where a run that took n batches
// stopped, with no state to save beyond n.
//
// Workers decode PNGs, cut crops and blur them; the main thread only awaits finished batches.
// A bounded number of batches (`prefetch`) is in flight at any time. Workers keep decoded images
// up to a memory budget, so the ten default photos are decoded once per worker.
//
// Workers load this same file through tsx (registered inside the worker), so they work whether
// the parent runs under `tsx`, `node --import tsx`, `uvu -r tsx` or bin/lmfn.mjs.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Random } from '../../engine/node/index.ts';
import { MIN_SIZE, SIZE_MULTIPLE } from '../../model/size.ts';
import { blurImage, cropPlanar, randomKernel } from './blur.ts';
import { Dataset, DatasetError, decode, DEFAULT_KERNEL_SIZE, DEFAULT_NOISE_STD, type DatasetSpec, type PairEntry } from './dataset.ts';

export interface LoaderOptions {
  /** Samples per batch. */
  batch: number;
  /** Crop side in pixels; LMFN's size rule: a multiple of 16, at least 64. */
  crop: number;
  /** Random horizontal and vertical flips, the same for blur and sharp. */
  flips: boolean;
  /** Used as a 32-bit unsigned integer. */
  seed: number;
  /** Index of the first batch to hand out: the number of batches a resumed run had consumed. */
  startBatch?: number;
  /** Synthetic blur (sharp-only data): kernel side, odd; default 31. */
  kernelSize?: number;
  /** Synthetic blur: Gaussian noise std in [0,1] units; default 0.01. */
  noiseStd?: number;
  /** Worker threads; 0 makes batches on the calling thread when asked (no read-ahead). Default: cores − 1, 1 to 4. */
  workers?: number;
  /** Batches made ahead of the one being consumed; default max(3, workers + 1), so no worker idles. */
  prefetch?: number;
  /** Decoded images each worker keeps, in MiB; default 256. */
  cacheMiB?: number;
}

interface ResolvedOptions {
  batch: number;
  crop: number;
  flips: boolean;
  seed: number;
  startBatch: number;
  kernelSize: number;
  noiseStd: number;
  workers: number;
  prefetch: number;
  cacheMiB: number;
}

/** Planar NCHW, values in [0,1]; `blur` is the network input, `sharp` its target. */
export interface Batch {
  /** Position of this batch in the seed's sequence (0-based). */
  index: number;
  blur: Float32Array;
  sharp: Float32Array;
  shape: [number, number, number, number];
}

/** One validation pair as a batch of one (validation images may differ in size). */
export interface ValBatch {
  name: string;
  blur: Float32Array;
  sharp: Float32Array;
  shape: [1, 3, number, number];
}

export class BatchLoader {
  readonly options: Readonly<ResolvedOptions>;
  private nextIndex: number;
  private readonly pending = new Map<number, Promise<Batch>>();
  private readonly pool: WorkerPool | null;
  private readonly localCache: ImageCache;
  private closed = false;

  constructor(readonly dataset: Dataset, options: LoaderOptions) {
    this.options = resolveOptions(options);
    checkTrainSizes(dataset, this.options);
    this.nextIndex = this.options.startBatch;
    this.localCache = new ImageCache(this.options.cacheMiB);
    this.pool = this.options.workers > 0 ? new WorkerPool(this.options.workers, { spec: dataset.spec, options: this.options }) : null;
    this.fill();
  }

  /** The index of the next batch `next()` returns: save it as `startBatch` to resume. */
  get position(): number {
    return this.nextIndex;
  }

  /** The next batch of the sequence. Batches are made ahead in workers; this only waits if they are behind. */
  async next(): Promise<Batch> {
    if (this.closed) throw new Error('BatchLoader: next() after close()');
    const index = this.nextIndex++;
    const batch = this.pending.get(index) ?? this.make(index);
    this.pending.delete(index);
    this.fill();
    return batch;
  }

  /**
   * The validation split, one pair at a time, read ahead like training batches. Every pair
   * satisfies LMFN's size rule; the default data's are fixed 256×256 crops with fixed kernels.
   */
  async *valBatches(): AsyncGenerator<ValBatch> {
    const count = this.dataset.val.count;
    const ahead: Promise<ValBatch>[] = [];
    const request = (i: number) => {
      const p = this.pool
        ? (this.pool.run({ kind: 'val', index: i }) as Promise<ValBatch>)
        : Promise.resolve().then(() => makeValBatch(this.dataset, i));
      p.catch(() => {}); // awaited below; this only keeps an early failure from being "unhandled"
      ahead.push(p);
    };
    let requested = 0;
    for (let i = 0; i < count; i++) {
      while (requested < count && requested < i + 1 + (this.pool ? this.options.prefetch : 0)) request(requested++);
      if (this.closed) throw new Error('BatchLoader: valBatches() after close()');
      yield await ahead.shift()!;
    }
  }

  /** Stops the workers; pending batches are dropped. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pending.clear();
    await this.pool?.close();
  }

  describe(): string {
    const o = this.options;
    const blur = this.dataset.synthetic ? `, synthetic ${o.kernelSize}×${o.kernelSize} camera shake, noise σ ${o.noiseStd}` : '';
    const workers = o.workers > 0 ? `${o.workers} worker${o.workers > 1 ? 's' : ''}, ${o.prefetch} batches ahead` : 'no workers';
    return `batches of ${o.batch}×3×${o.crop}×${o.crop}${o.flips ? ', random flips' : ''}${blur}; seed ${o.seed}, from batch ${o.startBatch}; ${workers}`;
  }

  private make(index: number): Promise<Batch> {
    const p = this.pool
      ? (this.pool.run({ kind: 'train', index }) as Promise<Batch>)
      : Promise.resolve().then(() => makeBatch(this.dataset, this.options, index, this.localCache));
    p.catch(() => {}); // awaited by next(); this only keeps a read-ahead failure from being "unhandled"
    return p;
  }

  private fill(): void {
    if (!this.pool || this.closed) return;
    for (let i = this.nextIndex; i < this.nextIndex + this.options.prefetch; i++) {
      if (!this.pending.has(i)) this.pending.set(i, this.make(i));
    }
  }
}

function resolveOptions(o: LoaderOptions): ResolvedOptions {
  const problems: string[] = [];
  const int = (name: string, v: unknown, min: number) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) problems.push(`${name} must be an integer ≥ ${min}, got ${v}`);
  };
  int('batch', o.batch, 1);
  int('crop', o.crop, MIN_SIZE);
  if (Number.isInteger(o.crop) && o.crop % SIZE_MULTIPLE !== 0) problems.push(`crop must be a multiple of ${SIZE_MULTIPLE} (LMFN's size rule), got ${o.crop}`);
  if (typeof o.seed !== 'number' || !Number.isInteger(o.seed)) problems.push(`seed must be an integer, got ${o.seed}`);
  if (typeof o.flips !== 'boolean') problems.push(`flips must be true or false, got ${o.flips}`);
  const r: ResolvedOptions = {
    batch: o.batch,
    crop: o.crop,
    flips: o.flips,
    seed: o.seed >>> 0,
    startBatch: o.startBatch ?? 0,
    kernelSize: o.kernelSize ?? DEFAULT_KERNEL_SIZE,
    noiseStd: o.noiseStd ?? DEFAULT_NOISE_STD,
    workers: o.workers ?? Math.max(1, Math.min(4, availableParallelism() - 1)),
    prefetch: o.prefetch ?? 0,
    cacheMiB: o.cacheMiB ?? 256,
  };
  int('startBatch', r.startBatch, 0);
  int('kernelSize', r.kernelSize, 1);
  if (Number.isInteger(r.kernelSize) && r.kernelSize % 2 === 0) problems.push(`kernelSize must be odd (so the kernel centre is a pixel), got ${r.kernelSize}`);
  if (!(r.noiseStd >= 0)) problems.push(`noiseStd must be ≥ 0, got ${r.noiseStd}`);
  int('workers', r.workers, 0);
  if (o.prefetch === undefined) r.prefetch = Math.max(3, r.workers + 1);
  int('prefetch', r.prefetch, 1);
  if (!(r.cacheMiB >= 0)) problems.push(`cacheMiB must be ≥ 0, got ${r.cacheMiB}`);
  if (problems.length) throw new RangeError(`BatchLoader: ${problems.join('; ')}`);
  return r;
}

/** Every training image must hold a crop (plus the kernel's margin when blurred here). */
function checkTrainSizes(dataset: Dataset, o: ResolvedOptions): void {
  const problems: string[] = [];
  if (dataset.train.count === 0) problems.push('no training pairs');
  for (const e of dataset.train.entries) {
    const need = e.blurPath === null ? o.crop + o.kernelSize - 1 : o.crop;
    if (e.width < need || e.height < need) {
      const why = e.blurPath === null ? `a ${o.crop}×${o.crop} crop blurred by a ${o.kernelSize}×${o.kernelSize} kernel` : `a ${o.crop}×${o.crop} crop`;
      problems.push(`${e.name}: ${e.width}×${e.height} is too small for ${why} (needs ${need}×${need})`);
    }
  }
  if (problems.length) throw new DatasetError(dataset.spec.root, problems);
}

// ---------------------------------------------------------------------------------------------
// Batches as pure functions of (dataset, options, index)

/** A 32-bit hash of small integers (murmur3's finaliser per word), to seed independent streams. */
function mix(...words: number[]): number {
  let h = 0x9e3779b9;
  for (const w of words) {
    h = Math.imul(h ^ (w >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

const EPOCH_STREAM = 1;
const SAMPLE_STREAM = 2;

/** Samples run through the training pairs epoch by epoch, each epoch in its own shuffled order. */
class EpochOrder {
  private readonly orders = new Map<number, Uint32Array>();
  constructor(private readonly seed: number, private readonly count: number) {}

  entryAt(position: number): number {
    const epoch = Math.floor(position / this.count);
    let order = this.orders.get(epoch);
    if (!order) {
      order = new Uint32Array(this.count);
      for (let i = 0; i < this.count; i++) order[i] = i;
      const rng = new Random(mix(this.seed, EPOCH_STREAM, epoch));
      for (let i = this.count - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
      if (this.orders.size >= 4) this.orders.delete(this.orders.keys().next().value!);
      this.orders.set(epoch, order);
    }
    return order[position % this.count];
  }
}

/** Decoded images by path, kept first-come until the budget is spent (random access defeats LRU). */
class ImageCache {
  private readonly images = new Map<string, Float32Array>();
  private bytes = 0;
  private readonly budget: number;
  constructor(budgetMiB: number) {
    this.budget = budgetMiB * 1024 * 1024;
  }

  get(root: string, path: string, e: PairEntry): Float32Array {
    const hit = this.images.get(path);
    if (hit) return hit;
    const { rgb } = decode(root, path, e.name, e.width, e.height);
    if (this.bytes + rgb.byteLength <= this.budget) {
      this.images.set(path, rgb);
      this.bytes += rgb.byteLength;
    }
    return rgb;
  }
}

const orders = new WeakMap<Dataset, Map<number, EpochOrder>>();

function epochOrder(dataset: Dataset, seed: number): EpochOrder {
  let bySeed = orders.get(dataset);
  if (!bySeed) orders.set(dataset, (bySeed = new Map()));
  let order = bySeed.get(seed);
  if (!order) bySeed.set(seed, (order = new EpochOrder(seed, dataset.train.count)));
  return order;
}

/** Batch `index` of the sequence for `options.seed`. */
function makeBatch(dataset: Dataset, options: Readonly<ResolvedOptions>, index: number, cache: ImageCache): Batch {
  const { batch, crop, flips, seed, kernelSize: k, noiseStd } = options;
  const root = dataset.spec.root;
  const order = epochOrder(dataset, seed);
  const plane = 3 * crop * crop;
  const blurOut = new Float32Array(batch * plane);
  const sharpOut = new Float32Array(batch * plane);
  for (let s = 0; s < batch; s++) {
    const e = dataset.train.entries[order.entryAt(index * batch + s)];
    const rng = new Random(mix(seed, SAMPLE_STREAM, index, s));
    const synthetic = e.blurPath === null;
    const window = synthetic ? crop + k - 1 : crop;
    const top = rng.int(e.height - window + 1);
    const left = rng.int(e.width - window + 1);
    // Drawn whether or not flips are on, so turning them off leaves the crops unchanged.
    const flipH = rng.next() < 0.5 && flips;
    const flipV = rng.next() < 0.5 && flips;
    let blur: Float32Array;
    let sharp: Float32Array;
    if (synthetic) {
      const photo = cache.get(root, e.sharpPath, e);
      const region = cropPlanar(photo, e.height, e.width, top, left, window, window);
      const kernel = randomKernel(rng, k);
      blur = blurImage(region, window, window, kernel, k, { noiseStd, rng }).rgb;
      const margin = (k - 1) / 2;
      sharp = cropPlanar(photo, e.height, e.width, top + margin, left + margin, crop, crop);
    } else {
      blur = cropPlanar(cache.get(root, e.blurPath!, e), e.height, e.width, top, left, crop, crop);
      sharp = cropPlanar(cache.get(root, e.sharpPath, e), e.height, e.width, top, left, crop, crop);
    }
    copyFlipped(blur, blurOut, s * plane, crop, flipH, flipV);
    copyFlipped(sharp, sharpOut, s * plane, crop, flipH, flipV);
  }
  return { index, blur: blurOut, sharp: sharpOut, shape: [batch, 3, crop, crop] };
}

function copyFlipped(src: Float32Array, dst: Float32Array, offset: number, size: number, flipH: boolean, flipV: boolean): void {
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < size; y++) {
      const from = (c * size + (flipV ? size - 1 - y : y)) * size;
      const to = offset + (c * size + y) * size;
      if (!flipH) {
        dst.set(src.subarray(from, from + size), to);
      } else {
        for (let x = 0; x < size; x++) dst[to + x] = src[from + size - 1 - x];
      }
    }
  }
}

function makeValBatch(dataset: Dataset, index: number): ValBatch {
  const p = dataset.val.pair(index);
  return { name: p.name, blur: p.blur, sharp: p.sharp, shape: [1, 3, p.height, p.width] };
}

// ---------------------------------------------------------------------------------------------
// Worker pool

type Task = { kind: 'train'; index: number } | { kind: 'val'; index: number };

interface WorkerInit {
  lmfnBatchWorker: true;
  spec: DatasetSpec;
  options: ResolvedOptions;
}

interface Job {
  id: number;
  task: Task;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

type Reply = { id: number; result: Batch | ValBatch } | { id: number; error: { name: string; message: string; source?: string; problems?: string[] } };

class WorkerPool {
  private readonly workers: { worker: Worker; job: Job | null }[] = [];
  private readonly queue: Job[] = [];
  private nextId = 0;
  private failure: Error | null = null;

  constructor(count: number, init: { spec: DatasetSpec; options: ResolvedOptions }) {
    const data: WorkerInit = { lmfnBatchWorker: true, ...init };
    for (let i = 0; i < count; i++) {
      const worker = new Worker(bootstrap(), { eval: true, workerData: data });
      const slot = { worker, job: null as Job | null };
      worker.on('message', (reply: Reply) => this.finish(slot, reply));
      worker.on('error', (e) => this.fail(new Error(`BatchLoader worker failed: ${e.message}`, { cause: e })));
      worker.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`BatchLoader worker exited with code ${code}`));
      });
      worker.unref(); // referenced only while it has a job, so a forgotten close() cannot hang the process
      this.workers.push(slot);
    }
  }

  run(task: Task): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.fail(new Error('BatchLoader closed'));
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }

  private dispatch(): void {
    for (const slot of this.workers) {
      if (slot.job || this.queue.length === 0) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage({ id: job.id, task: job.task });
    }
  }

  private finish(slot: { worker: Worker; job: Job | null }, reply: Reply): void {
    const job = slot.job;
    if (!job || job.id !== reply.id) return;
    slot.job = null;
    slot.worker.unref();
    if ('error' in reply) {
      const { name, message, source, problems } = reply.error;
      if (source !== undefined && problems) job.reject(new DatasetError(source, problems));
      else job.reject(Object.assign(new Error(message), { name }));
    } else {
      job.resolve(reply.result);
    }
    this.dispatch();
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const slot of this.workers) {
      slot.job?.reject(error);
      slot.job = null;
    }
    for (const job of this.queue.splice(0)) job.reject(error);
  }
}

/** Worker entry: registers tsx inside the worker, then loads this file, which starts serving. */
function bootstrap(): string {
  const self = JSON.stringify(import.meta.url);
  const tsx = tsxApiUrl();
  const load = tsx ? `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${self}); })` : `import(${self})`;
  return `${load}.catch((e) => { console.error(e); process.exit(1); });`;
}

/** The ES module of `tsx/esm/api`, or null without tsx (then this file must already be JavaScript). */
function tsxApiUrl(): string | null {
  try {
    if (typeof import.meta.resolve === 'function') return import.meta.resolve('tsx/esm/api');
    // Run as CommonJS (uvu -r tsx): require.resolve would give the CommonJS build, which cannot
    // be imported, so read the ES entry from the package's export map.
    const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
    const target = JSON.parse(readFileSync(manifest, 'utf8')).exports['./esm/api'].import;
    return pathToFileURL(join(dirname(manifest), typeof target === 'string' ? target : target.default)).href;
  } catch {
    return null;
  }
}

function serve(init: WorkerInit): void {
  const dataset = new Dataset(init.spec);
  const cache = new ImageCache(init.options.cacheMiB);
  parentPort!.on('message', ({ id, task }: { id: number; task: Task }) => {
    try {
      const result = task.kind === 'train' ? makeBatch(dataset, init.options, task.index, cache) : makeValBatch(dataset, task.index);
      parentPort!.postMessage({ id, result } satisfies Reply, [result.blur.buffer as ArrayBuffer, result.sharp.buffer as ArrayBuffer]);
    } catch (e) {
      const err = e as Error;
      const detail = e instanceof DatasetError ? { source: e.source, problems: e.problems } : {};
      parentPort!.postMessage({ id, error: { name: err.name, message: err.message, ...detail } } satisfies Reply);
    }
  });
}

if (!isMainThread && (workerData as WorkerInit | undefined)?.lmfnBatchWorker) serve(workerData as WorkerInit);
