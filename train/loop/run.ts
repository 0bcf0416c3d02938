// One training run, from a fresh start or its last checkpoint up to --steps, an interrupt or a
// loss that is no longer finite: the steps, validation and a checkpoint every --val-every steps,
// metrics.jsonl, and at the end the loss plot and the validation pictures.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Adam, type Device, type Tensor } from '../../engine/node/index.ts';
import { LMFN } from '../../model/lmfn.ts';
import { openDataset, type Dataset } from '../data/dataset.ts';
import { BatchLoader } from '../data/loader.ts';
import { writeImage } from '../image.ts';
import { lossPlotSvg, sideBySide, type PlotPoint } from '../plot.ts';
import { Progress } from '../progress.ts';
import { loadCheckpoint, paths, saveCheckpoint, type RunState } from './checkpoint.ts';
import { Interrupt } from './interrupt.ts';
import { MetricsLog } from './metrics-log.ts';
import { FIXED_OPTIONS, type TrainOptions } from './options.ts';
import { learningRate, trainStep } from './step.ts';
import { validate, type ValResult } from './validate.ts';

export interface RunOutcome {
  /** Optimizer steps completed. */
  step: number;
  /** The signal that ended the run before --steps, or null. */
  interrupted: string | null;
  /** Why training stopped (a loss that is not finite), or null. */
  failed: string | null;
  /** The last validation, or null when there was none. */
  validation: ValResult | null;
  elapsed: string;
}

/** A step whose loss is still being read back. */
interface Reading {
  step: number;
  value: Promise<Float32Array>;
}

export class TrainingRun {
  readonly files: ReturnType<typeof paths>;
  private readonly log: MetricsLog;
  private readonly interrupt = new Interrupt();
  private progress: Progress;
  private validation: ValResult | null = null;
  /** The losses since the last metrics.jsonl record. */
  private window = { loss: 0, count: 0 };

  private constructor(
    readonly runDir: string,
    readonly options: TrainOptions,
    readonly model: LMFN,
    private readonly optimizer: Adam,
    private readonly dataset: Dataset,
    private readonly loader: BatchLoader,
    private readonly state: RunState,
  ) {
    this.files = paths(runDir);
    this.log = new MetricsLog(this.files.metrics);
    this.progress = new Progress(state.step, options.steps, options['log-every']);
  }

  /**
   * Opens the run in `runDir`, fresh or resumed from its checkpoint. A resumed run keeps its
   * original settings, so the continuation is exact; `given` (the flags on the command line) says
   * which differing settings to warn about.
   */
  static open(device: Device, runDir: string, options: TrainOptions, resume: { given: ReadonlySet<string> } | null): TrainingRun {
    mkdirSync(runDir, { recursive: true });
    const model = new LMFN(device, { seed: options.seed, init: options.init });
    const optimizer = new Adam(model.parameters(), { lr: options.lr, betas: [0.9, 0.999], eps: 1e-8, weightDecay: options['weight-decay'] });
    let state: RunState = { step: 0, batches: 0, bestPsnr: -Infinity, config: Object.fromEntries(FIXED_OPTIONS.map((k) => [k, options[k] ?? false])) };
    if (resume) {
      try {
        state = loadCheckpoint(runDir, model, optimizer);
      } catch (e) {
        model.dispose();
        throw e;
      }
      options = resumedOptions(options, state.config, resume.given);
      console.error(`resuming ${runDir} at step ${state.step}`);
    }
    const dataset = openDataset(options.data);
    const loader = new BatchLoader(dataset, { batch: options.batch, crop: options.crop, flips: Boolean(options.flips), seed: options.seed, startBatch: state.batches });
    return new TrainingRun(runDir, options, model, optimizer, dataset, loader, state);
  }

  get step(): number {
    return this.state.step;
  }

  describe(): string {
    const o = this.options;
    const warmup = o.warmup ? ` (warm-up ${o.warmup} steps)` : '';
    return `data: ${this.dataset.describe()}\n      ${this.loader.describe()}\n` +
      `model: LMFN, ${this.model.parameterCount().toLocaleString('en-US')} parameters, ${o.init} init; ` +
      `Adam lr ${o.lr}${warmup} ×${o['lr-gamma']} every ${o['lr-step']} steps, weight decay ${o['weight-decay']}`;
  }

  /** Trains to --steps (or the first interrupt); Ctrl-C and SIGTERM end it at a checkpoint. */
  async train(): Promise<RunOutcome> {
    this.log.truncate(this.state.step);
    this.interrupt.listen();
    let failed: string | null;
    try {
      await this.start();
      failed = await this.loop();
    } finally {
      this.interrupt.stop();
      await this.loader.close();
    }
    if (!failed) this.writeFinalPictures();
    return { step: this.state.step, interrupted: this.interrupt.signal, failed, validation: this.validation, elapsed: this.progress.elapsed() };
  }

  dispose(): void {
    this.model.dispose();
  }

  /** A fresh run's step 0: a checkpoint before the first forward compiles its pipelines (minutes on a
   * cold CPU adapter), so that an interrupt at any moment leaves a run that resumes; then validated. */
  private async start(): Promise<void> {
    if (this.state.step !== 0 || this.options.steps <= 0) return;
    if (!existsSync(this.files.state)) await this.checkpoint(false);
    await this.checkpoint(true);
  }

  /** The steps; returns why training failed, or null. Each loss is read back while the next step
   * is recorded, so the device never waits on us. */
  private async loop(): Promise<string | null> {
    const { options: o, state } = this;
    let pending: Reading | null = null;
    let next = state.step < o.steps ? this.loader.next() : null;
    while (state.step < o.steps && !this.interrupt.signal) {
      const batch = await next!;
      const step = state.step + 1;
      this.optimizer.lr = learningRate(o.lr, o['lr-gamma'], o['lr-step'], state.step, o.warmup);
      const reading = readLoss(step, trainStep(this.model, this.optimizer, batch));
      next = step < o.steps ? this.loader.next() : null;
      const failed = pending && (await this.account(pending, false));
      if (failed) {
        await reading.value.catch(() => undefined); // let the read in flight land before the device goes
        return failed;
      }
      pending = reading;
      state.step = step;
      const validateNow = step % o['val-every'] === 0 || step === o.steps;
      if (validateNow || this.interrupt.signal) {
        const failed = await this.account(pending, true);
        pending = null;
        if (failed) return failed;
        await this.checkpoint(validateNow);
      }
    }
    return null;
  }

  /**
   * Takes a step's loss into the progress line and the metrics log, which records the mean over
   * each --log-every window; `flush` (before a checkpoint) also records a partial window.
   * Returns why training must stop, or null.
   */
  private async account(r: Reading, flush: boolean): Promise<string | null> {
    const value = (await r.value)[0];
    if (!Number.isFinite(value)) return `the loss became ${value} at step ${r.step}`;
    this.progress.update(r.step, value, this.optimizer.lr);
    const w = { loss: this.window.loss + value, count: this.window.count + 1 };
    if (r.step % this.options['log-every'] !== 0 && !(flush && this.window.count)) {
      if (!flush) this.window = w;
      return null;
    }
    this.log.append({ step: r.step, loss: w.loss / w.count, lr: this.optimizer.lr, steps_per_s: this.progress.rate(r.step) });
    this.window = { loss: 0, count: 0 };
    return null;
  }

  private async checkpoint(validateNow: boolean): Promise<void> {
    const isBest = validateNow && (await this.validate());
    this.state.batches = this.loader.position;
    await saveCheckpoint(this.runDir, this.model, this.optimizer, this.state, isBest);
  }

  /** Validates, logs and records the result; returns whether it is the best so far. */
  private async validate(): Promise<boolean> {
    const v = (this.validation = await validate(this.model, this.loader));
    const isBest = v.psnr > this.state.bestPsnr;
    if (isBest) this.state.bestPsnr = v.psnr;
    this.log.append({ step: this.state.step, val_psnr: v.psnr, val_ssim: v.ssim, blur_psnr: v.blurPsnr, blur_ssim: v.blurSsim });
    this.progress.log(
      `step ${this.state.step}: validation PSNR ${v.psnr.toFixed(2)} dB, SSIM ${v.ssim.toFixed(4)}  ` +
        `(blurred input: ${v.blurPsnr.toFixed(2)} dB, ${v.blurSsim.toFixed(4)})${isBest ? '  best' : ''}`,
    );
    return isBest;
  }

  /** RUN_DIR/loss.svg from the whole metrics log, and val/*.png (blurred | deblurred | sharp) from the last validation. */
  private writeFinalPictures(): void {
    const series: PlotPoint[] = this.log.read(this.state.step).map((r) => ({ step: r.step, loss: r.loss, valPsnr: r.val_psnr, blurPsnr: r.blur_psnr }));
    writeFileSync(join(this.runDir, 'loss.svg'), lossPlotSvg(series));
    for (const p of this.validation?.pictures ?? []) {
      const img = sideBySide([[{ rgb: p.blur, h: p.h, w: p.w }, { rgb: p.out, h: p.h, w: p.w }, { rgb: p.sharp, h: p.h, w: p.w }]], ['blurred', 'deblurred', 'sharp']);
      writeImage(join(this.runDir, 'val', p.name.replace(/[\\/]/g, '_').replace(/\.png$/i, '') + '.png'), {
        width: img.w, height: img.h, rgb: img.rgb, alpha: null, bitDepth: 8, channels: 'rgb',
      });
    }
  }
}

/** Starts reading a step's loss back and lets go of the tensor (the read holds its buffer). */
function readLoss(step: number, loss: Tensor): Reading {
  const reading = { step, value: loss.read() };
  loss.dispose();
  return reading;
}

/** The original run's settings over the given ones; says so where a flag on the command line differs. */
function resumedOptions(options: TrainOptions, config: RunState['config'], given: ReadonlySet<string>): TrainOptions {
  for (const k of FIXED_OPTIONS) {
    if (given.has(k) && k in config && config[k] !== options[k]) console.error(`note: --${k} ${options[k]} ignored; the run was started with ${config[k]}`);
  }
  return { ...options, ...config } as TrainOptions;
}
