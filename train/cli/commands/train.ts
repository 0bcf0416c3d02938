import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Adam, Tensor, noGrad, ops, tidy } from '../../../engine/index.ts';
import { LMFN } from '../../../model/lmfn.ts';
import { LMFN_INITS, isLMFNInit, type LMFNInit } from '../../../model/identity.ts';
import { CommandError, helpText, parseFlags, UsageError } from '../args.ts';
import { loadCheckpoint, paths, saveCheckpoint, type RunState } from '../../checkpoint.ts';
import { openDataset } from '../../data/dataset.ts';
import { BatchLoader, type Batch } from '../../data/loader.ts';
import { writeImage } from '../../image.ts';
import { psnr, ssim } from '../../metrics.ts';
import { lossPlotSvg, sideBySide, type PlotPoint } from '../../plot.ts';
import { Progress } from '../../progress.ts';
import { openDevice } from './common.ts';

export const summary = 'train LMFN headless (on GoPro-style pairs, or the embedded default photos)';
const flags = {
  data: { type: 'string', help: "'default' (embedded photos, synthetic camera shake) or a GoPro/flat pairs directory", default: 'default' },
  out: { type: 'string', help: 'run directory: checkpoints, metrics.jsonl, plot, validation pictures (default runs/<date>-<time>)' },
  steps: { type: 'number', help: 'total optimizer steps (a resumed run continues up to this)', default: 1000 },
  batch: { type: 'number', help: 'images per batch', default: 4 },
  crop: { type: 'number', help: 'random crop size (multiple of 16, ≥ 64)', default: 64 },
  lr: { type: 'number', help: 'initial learning rate', default: 1e-4 },
  'lr-step': { type: 'number', help: 'multiply the learning rate by --lr-gamma every this many steps', default: 500000 },
  'lr-gamma': { type: 'number', help: 'learning-rate decay factor', default: 0.1 },
  warmup: { type: 'number', help: 'raise the learning rate linearly over the first this many steps (0: none, as the paper)', default: 0 },
  'weight-decay': { type: 'number', help: "Adam's L2 weight decay (added to the gradient, as PyTorch's Adam)", default: 1e-4 },
  init: {
    type: 'string',
    help: "'identity': the paper's init with the picture's path set to pass the input through, so training starts at the\n" +
      "blurred input's PSNR (not in the paper; README, Initialisation); 'paper': §9's init",
    default: 'identity',
  },
  seed: { type: 'number', help: 'seed of the weights and of the data order', default: 0 },
  'val-every': { type: 'number', help: 'validate (PSNR/SSIM) and save a checkpoint every this many steps', default: 500 },
  'log-every': { type: 'number', help: 'log line / metrics.jsonl record every this many steps', default: 10 },
  flips: { type: 'boolean', help: 'random horizontal/vertical flips' },
  resume: { type: 'boolean', help: 'continue the run in --out from its last checkpoint' },
} as const;
export const help = helpText(
  'lmfn train --data DIR|default [--out RUN_DIR] [--steps N --batch N --crop N --lr X --seed N --val-every N --resume]',
  'Trains LMFN with Adam (β 0.9/0.999, ε 1e-8, L2 weight decay) on the MSE loss, with a step learning-rate schedule.\n' +
    'Writes RUN_DIR/last.safetensors and best.safetensors (PyTorch state_dict names), last.state.safetensors (exact\n' +
    'resume), metrics.jsonl, loss.svg and val/*.png (blurred | deblurred | sharp). Ctrl-C or SIGTERM saves and exits.',
  flags,
);

type Options = ReturnType<typeof parseFlags<typeof flags>>;

/** The settings a resumed run must share with the original for an exact continuation. */
const FIXED = ['data', 'init', 'batch', 'crop', 'lr', 'lr-step', 'lr-gamma', 'warmup', 'weight-decay', 'seed', 'flips'] as const;

/** The learning rate of the step after `step` completed ones: the step schedule, scaled by a linear warm-up over the first `warmup` steps. */
export function learningRate(base: number, gamma: number, every: number, step: number, warmup = 0): number {
  return base * gamma ** Math.floor(step / every) * (warmup > 0 ? Math.min(1, (step + 1) / warmup) : 1);
}

function checkOptions(o: Options): void {
  for (const k of ['steps', 'batch', 'val-every', 'log-every', 'lr-step'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new UsageError(`train: --${k} must be a positive integer, got ${o[k]}`);
  }
  if (!Number.isInteger(o.warmup) || o.warmup < 0) throw new UsageError(`train: --warmup must be a whole number of steps, got ${o.warmup}`);
  if (o.crop % 16 || o.crop < 64) throw new UsageError(`train: --crop must be a multiple of 16 that is at least 64, got ${o.crop}`);
  if (!isLMFNInit(o.init)) throw new UsageError(`train: --init must be ${LMFN_INITS.join(' or ')}, got '${o.init}'`);
  if (!(o.lr > 0)) throw new UsageError(`train: --lr must be positive, got ${o.lr}`);
}

export interface ValResult {
  psnr: number;
  ssim: number;
  blurPsnr: number;
  blurSsim: number;
  pictures: { name: string; blur: Float32Array; out: Float32Array; sharp: Float32Array; h: number; w: number }[];
}

/** One optimizer step on MSE(model(blur), sharp), recorded into the device's batch; returns the loss (not read). */
export function trainStep(model: LMFN, optimizer: Adam, batch: Pick<Batch, 'blur' | 'sharp' | 'shape'>): Tensor {
  return tidy(() => {
    const blur = Tensor.fromData(model.device, batch.blur, batch.shape);
    const sharp = Tensor.fromData(model.device, batch.sharp, batch.shape);
    optimizer.zeroGrad();
    const l = ops.mseLoss(model.forward(blur), sharp);
    l.backward();
    optimizer.step();
    return l;
  });
}

/** Mean PSNR/SSIM over the validation split, of the model's output and of the blurred input. */
export async function validate(model: LMFN, loader: BatchLoader): Promise<ValResult> {
  const rows: ValResult['pictures'] = [];
  for await (const v of loader.valBatches()) {
    const [, , h, w] = v.shape;
    const y = noGrad(() => tidy(() => model.forward(Tensor.fromData(model.device, v.blur, v.shape))));
    rows.push({ name: v.name, blur: v.blur, out: await y.read(), sharp: v.sharp, h, w });
    y.dispose();
  }
  const mean = (f: (r: ValResult['pictures'][number]) => number) => rows.reduce((s, r) => s + f(r), 0) / rows.length;
  return {
    psnr: mean((r) => psnr(r.out, r.sharp)),
    ssim: mean((r) => ssim(r.out, r.sharp, r.h, r.w)),
    blurPsnr: mean((r) => psnr(r.blur, r.sharp)),
    blurSsim: mean((r) => ssim(r.blur, r.sharp, r.h, r.w)),
    pictures: rows,
  };
}

function readMetrics(file: string, upToStep: number): Record<string, number>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, number>)
    .filter((r) => r.step <= upToStep);
}

function writeFinalPictures(runDir: string, metrics: Record<string, number>[], val: ValResult | null): void {
  const series: PlotPoint[] = metrics.map((r) => ({ step: r.step, loss: r.loss, valPsnr: r.val_psnr, blurPsnr: r.blur_psnr }));
  writeFileSync(join(runDir, 'loss.svg'), lossPlotSvg(series));
  if (!val) return;
  for (const p of val.pictures) {
    const img = sideBySide([[{ rgb: p.blur, h: p.h, w: p.w }, { rgb: p.out, h: p.h, w: p.w }, { rgb: p.sharp, h: p.h, w: p.w }]], ['blurred', 'deblurred', 'sharp']);
    writeImage(join(runDir, 'val', p.name.replace(/[\\/]/g, '_').replace(/\.png$/i, '') + '.png'), {
      width: img.w, height: img.h, rgb: img.rgb, alpha: null, bitDepth: 8, channels: 'rgb',
    });
  }
}

export async function run(argv: string[]): Promise<void> {
  let opts = parseFlags('train', flags, argv);
  checkOptions(opts);
  if (opts.resume && !opts.out) throw new UsageError('train: --resume needs --out RUN_DIR (the run to continue)');
  const runDir = resolve(opts.out ?? join('runs', new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')));
  const files = paths(runDir);
  if (!opts.resume && existsSync(files.state)) {
    throw new UsageError(`train: ${runDir} already holds a run; pass --resume to continue it, or choose another --out`);
  }
  mkdirSync(runDir, { recursive: true });

  const device = await openDevice();
  const model = new LMFN(device, { seed: opts.seed, init: opts.init as LMFNInit }); // checked by checkOptions
  const optimizer = new Adam(model.parameters(), { lr: opts.lr, betas: [0.9, 0.999], eps: 1e-8, weightDecay: opts['weight-decay'] });
  let run: RunState = { step: 0, batches: 0, bestPsnr: -Infinity, config: Object.fromEntries(FIXED.map((k) => [k, opts[k] ?? false])) };
  if (opts.resume) {
    run = loadCheckpoint(runDir, model, optimizer);
    // The original run's settings win, so the continuation is exact; say so if they differ.
    const given = new Set(argv.map((a) => a.replace(/^--/, '').split('=')[0]));
    for (const k of FIXED) {
      if (given.has(k) && k in run.config && run.config[k] !== opts[k]) console.error(`note: --${k} ${opts[k]} ignored; the run was started with ${run.config[k]}`);
    }
    opts = { ...opts, ...run.config } as Options;
    console.error(`resuming ${runDir} at step ${run.step}`);
  }
  if (run.step >= opts.steps) {
    console.error(`nothing to do: the run is at step ${run.step} and --steps is ${opts.steps}`);
  }

  const dataset = openDataset(opts.data);
  const loader = new BatchLoader(dataset, { batch: opts.batch, crop: opts.crop, flips: Boolean(opts.flips), seed: opts.seed, startBatch: run.batches });
  console.error(`data: ${dataset.describe()}\n      ${loader.describe()}`);
  console.error(`model: LMFN, ${model.parameterCount().toLocaleString('en-US')} parameters, ${opts.init} init; Adam lr ${opts.lr}${opts.warmup ? ` (warm-up ${opts.warmup} steps)` : ''} ×${opts['lr-gamma']} every ${opts['lr-step']} steps, weight decay ${opts['weight-decay']}`);

  // Keep only metrics up to the checkpoint: a resumed run rewrites what came after it.
  const kept = readMetrics(files.metrics, run.step);
  writeFileSync(files.metrics, kept.map((r) => JSON.stringify(r) + '\n').join(''));
  const record = (r: Record<string, number>) => appendFileSync(files.metrics, JSON.stringify(r) + '\n');

  let interrupted: string | null = null;
  const onSignal = (sig: string) => () => {
    if (interrupted) process.exit(130);
    interrupted = sig;
    console.error(`\n${sig}: finishing this step, saving a checkpoint, then exiting (again to abort)`);
  };
  const handlers = { SIGINT: onSignal('SIGINT'), SIGTERM: onSignal('SIGTERM') };
  for (const [sig, h] of Object.entries(handlers)) process.on(sig, h);

  const progress = new Progress(run.step, opts.steps, opts['log-every']);
  let lastVal: ValResult | null = null;
  let windowLoss = 0;
  let windowCount = 0;
  let failed: string | null = null;

  const checkpoint = async (validateNow: boolean) => {
    let isBest = false;
    if (validateNow) {
      lastVal = await validate(model, loader);
      isBest = lastVal.psnr > run.bestPsnr;
      if (isBest) run.bestPsnr = lastVal.psnr;
      record({ step: run.step, val_psnr: lastVal.psnr, val_ssim: lastVal.ssim, blur_psnr: lastVal.blurPsnr, blur_ssim: lastVal.blurSsim });
      progress.log(
        `step ${run.step}: validation PSNR ${lastVal.psnr.toFixed(2)} dB, SSIM ${lastVal.ssim.toFixed(4)}  ` +
          `(blurred input: ${lastVal.blurPsnr.toFixed(2)} dB, ${lastVal.blurSsim.toFixed(4)})${isBest ? '  best' : ''}`,
      );
    }
    run.batches = loader.position;
    await saveCheckpoint(runDir, model, optimizer, run, isBest);
  };

  try {
    if (run.step === 0 && opts.steps > 0) {
      // Saved before the first forward compiles its pipelines (minutes on a cold CPU adapter), so that an
      // interrupt at any moment leaves a run that resumes; then validated, which replaces it.
      if (!existsSync(files.state)) await checkpoint(false);
      await checkpoint(true);
    }
    let pending: { step: number; value: Promise<Float32Array> } | null = null;
    let next = run.step < opts.steps ? loader.next() : null;
    while (run.step < opts.steps && !interrupted) {
      const batch = await next!;
      const step = run.step + 1;
      optimizer.lr = learningRate(opts.lr, opts['lr-gamma'], opts['lr-step'], run.step, opts.warmup);
      const loss = trainStep(model, optimizer, batch);
      // Read this step's loss back while the next batch is fetched and recorded: the GPU never waits on us.
      const reading = { step, value: loss.read() };
      loss.dispose();
      next = step < opts.steps ? loader.next() : null;
      if (pending) {
        const value = (await pending.value)[0];
        if (!Number.isFinite(value)) {
          failed = `the loss became ${value} at step ${pending.step}`;
          // This step's read is still in flight: let it land before the device goes.
          await reading.value.catch(() => undefined);
          break;
        }
        windowLoss += value;
        windowCount++;
        progress.update(pending.step, value, optimizer.lr);
        if (pending.step % opts['log-every'] === 0) {
          record({ step: pending.step, loss: windowLoss / windowCount, lr: optimizer.lr, steps_per_s: progress.rate(pending.step) });
          windowLoss = windowCount = 0;
        }
      }
      pending = reading;
      run.step = step;
      const atEnd = step === opts.steps;
      if (step % opts['val-every'] === 0 || atEnd || interrupted) {
        const value = (await pending.value)[0];
        pending = null;
        if (!Number.isFinite(value)) {
          failed = `the loss became ${value} at step ${step}`;
          break;
        }
        progress.update(step, value, optimizer.lr);
        if (windowCount || step % opts['log-every'] === 0) {
          record({ step, loss: (windowLoss + value) / (windowCount + 1), lr: optimizer.lr, steps_per_s: progress.rate(step) });
          windowLoss = windowCount = 0;
        }
        await checkpoint(step % opts['val-every'] === 0 || atEnd);
      }
    }
  } finally {
    for (const [sig, h] of Object.entries(handlers)) process.off(sig, h);
    await loader.close();
  }

  if (failed) {
    model.dispose();
    device.destroy();
    throw new CommandError(
      `stopped: ${failed}. Nothing after the last checkpoint was saved; ${files.last} holds the last good weights. ` +
        'Try a lower --lr, then --resume.',
    );
  }
  writeFinalPictures(runDir, readMetrics(files.metrics, run.step), lastVal);
  const where = interrupted ? `interrupted (${interrupted}) at step ${run.step}; continue with --resume` : `finished ${run.step} steps in ${progress.elapsed()}`;
  console.log(`\n${where}. Run folder: ${runDir}`);
  console.log(`  weights      ${files.last}  (best: ${files.best})`);
  console.log(`  metrics      ${files.metrics}, plot ${join(runDir, 'loss.svg')}`);
  if (lastVal) {
    const v = lastVal as ValResult;
    console.log(`  validation   PSNR ${v.psnr.toFixed(2)} dB, SSIM ${v.ssim.toFixed(4)} (blurred input ${v.blurPsnr.toFixed(2)} dB, ${v.blurSsim.toFixed(4)}); pictures in ${join(runDir, 'val')}/`);
    if (v.psnr < v.blurPsnr) {
      const why =
        opts.init === 'paper'
          ? `LMFN has no global skip, so from the paper's init it first has to learn the identity (thousands of steps on a CPU);\n` +
            `--init identity starts it there.`
          : `It started as the identity, at the blurred input's PSNR: try a lower --lr, or more steps.`;
      console.log(
        `\nNote: the output is below the blurred input's PSNR. ${why} Real gains need GPU-scale training (the paper\n` +
          `trains for over a million steps), e.g.\n` +
          `  lmfn train --data GOPRO_ROOT --out runs/gopro --crop 256 --batch 16 --steps 1000000 --val-every 5000`,
      );
    }
  }
  model.dispose();
  device.destroy();
}
