import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LMFN_INITS, isLMFNInit } from '../../../model/identity.ts';
import { CommandError, helpText, parseFlags, UsageError } from '../args.ts';
import { paths } from '../../loop/checkpoint.ts';
import type { TrainOptions } from '../../loop/options.ts';
import { TrainingRun, type RunOutcome } from '../../loop/run.ts';
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

type Flags = ReturnType<typeof parseFlags<typeof flags>>;

/** The flags checked, as the run's settings. */
function trainOptions(o: Flags): TrainOptions {
  for (const k of ['steps', 'batch', 'val-every', 'log-every', 'lr-step'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new UsageError(`train: --${k} must be a positive integer, got ${o[k]}`);
  }
  if (!Number.isInteger(o.warmup) || o.warmup < 0) throw new UsageError(`train: --warmup must be a whole number of steps, got ${o.warmup}`);
  if (o.crop % 16 || o.crop < 64) throw new UsageError(`train: --crop must be a multiple of 16 that is at least 64, got ${o.crop}`);
  if (!(o.lr > 0)) throw new UsageError(`train: --lr must be positive, got ${o.lr}`);
  const init = o.init;
  if (!isLMFNInit(init)) throw new UsageError(`train: --init must be ${LMFN_INITS.join(' or ')}, got '${init}'`);
  return { ...o, init };
}

export async function run(argv: string[]): Promise<void> {
  const opts = parseFlags('train', flags, argv);
  const options = trainOptions(opts);
  if (opts.resume && !opts.out) throw new UsageError('train: --resume needs --out RUN_DIR (the run to continue)');
  const runDir = resolve(opts.out ?? join('runs', new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')));
  if (!opts.resume && existsSync(paths(runDir).state)) {
    throw new UsageError(`train: ${runDir} already holds a run; pass --resume to continue it, or choose another --out`);
  }
  const device = await openDevice();
  try {
    const given = new Set(argv.map((a) => a.replace(/^--/, '').split('=')[0]));
    const training = TrainingRun.open(device, runDir, options, opts.resume ? { given } : null);
    try {
      console.error(training.describe());
      if (training.step >= training.options.steps) console.error(`nothing to do: the run is at step ${training.step} and --steps is ${training.options.steps}`);
      report(training, await training.train());
    } finally {
      training.dispose();
    }
  } finally {
    device.destroy();
  }
}

/** The run's outcome on stdout: where its files are, and what its last validation says. */
function report(training: TrainingRun, outcome: RunOutcome): void {
  const { files, runDir } = training;
  if (outcome.failed) {
    throw new CommandError(
      `stopped: ${outcome.failed}. Nothing after the last checkpoint was saved; ${files.last} holds the last good weights. ` +
        'Try a lower --lr, then --resume.',
    );
  }
  const where = outcome.interrupted
    ? `interrupted (${outcome.interrupted}) at step ${outcome.step}; continue with --resume`
    : `finished ${outcome.step} steps in ${outcome.elapsed}`;
  console.log(`\n${where}. Run folder: ${runDir}`);
  console.log(`  weights      ${files.last}  (best: ${files.best})`);
  console.log(`  metrics      ${files.metrics}, plot ${join(runDir, 'loss.svg')}`);
  const v = outcome.validation;
  if (!v) return;
  console.log(`  validation   PSNR ${v.psnr.toFixed(2)} dB, SSIM ${v.ssim.toFixed(4)} (blurred input ${v.blurPsnr.toFixed(2)} dB, ${v.blurSsim.toFixed(4)}); pictures in ${join(runDir, 'val')}/`);
  if (v.psnr >= v.blurPsnr) return;
  const why =
    training.options.init === 'paper'
      ? `LMFN has no global skip, so from the paper's init it first has to learn the identity (thousands of steps on a CPU);\n` +
        `--init identity starts it there.`
      : `It started as the identity, at the blurred input's PSNR: try a lower --lr, or more steps.`;
  console.log(
    `\nNote: the output is below the blurred input's PSNR. ${why} Real gains need GPU-scale training (the paper\n` +
      `trains for over a million steps), e.g.\n` +
      `  lmfn train --data GOPRO_ROOT --out runs/gopro --crop 256 --batch 16 --steps 1000000 --val-every 5000`,
  );
}
