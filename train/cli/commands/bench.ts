import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { kernelFamily, type Device } from '../../../engine/node/index.ts';
import { bestOf, calibrate } from '../../../bench/calibrate.ts';
import { applyPeak, customCases, lmfnCases, runKernelCases, selectCases, type KernelCase, type KernelResult } from '../../../bench/kernels.ts';
import { parseSizes, runModelBench, type ModelResult } from '../../../bench/model.ts';
import { profileTrainStep } from '../../../bench/profile.ts';
import { compileByKernel, compileSection, measureColdCompile, updateCompileSection } from '../../../bench/compile.ts';
import { RESULTS_DIR, RESULTS_MD, adapterSlug, fmt, renderKernels, renderModel, storeResults, updateResultsMarkdown, type RunInfo } from '../../../bench/results.ts';
import { startTfjs, tfjsMissing, type TfjsSession } from '../../../bench/tfjs.ts';
import { Timer } from '../../../bench/timer.ts';
import { CommandError, helpText, parseFlags, UsageError } from '../args.ts';
import { openDevice } from './common.ts';

export const summary = 'benchmark the kernels at LMFN\'s shapes (bench kernels), the whole model (bench model), a training step per kernel (bench profile), or the cold compile (bench compile)';

const common = {
  json: { type: 'boolean', help: 'print the results as JSON on stdout (progress stays on stderr)' },
  quick: { type: 'boolean', help: 'fewer samples and a shorter time budget per row' },
  reps: { type: 'number', help: 'timed samples per row (default: 5 on the CPU adapter, 10 on a GPU; 3 with --quick)' },
  'no-write': { type: 'boolean', help: 'do not write bench/results/*.json and bench/RESULTS.md' },
} as const;

const kernelFlags = {
  ...common,
  op: { type: 'string', help: 'only these rows: a family (conv2d, matmul, softmax, pixelShuffle, bilinear, maxPool, conv3d, attention), peers, or an id prefix; comma-separated' },
  list: { type: 'boolean', help: 'list the rows (id, pass, workload) and exit' },
  tfjs: { type: 'boolean', help: 'also run the peer workloads through TensorFlow.js WebGPU on the same adapter, side by side (dev dependency)' },
  shape: { type: 'string', help: 'time your own workload with --op conv2d (NxCxHxW), matmul (MxKxN or BxMxKxN) or softmax (ROWSxCOLS)' },
  'out-channels': { type: 'number', help: 'conv2d --shape: output channels (default: the input channels)' },
  kernel: { type: 'number', help: 'conv2d --shape: square kernel size', default: 3 },
  stride: { type: 'number', help: 'conv2d --shape: stride', default: 1 },
  padding: { type: 'number', help: 'conv2d --shape: zero padding (default: kernel/2 rounded down)' },
  bias: { type: 'boolean', help: 'conv2d --shape: with a bias (adds db to the dW row)' },
  'trans-a': { type: 'boolean', help: 'matmul --shape: A is stored transposed' },
  'trans-b': { type: 'boolean', help: 'matmul --shape: B is stored transposed' },
} as const;

const modelFlags = {
  ...common,
  sizes: { type: 'string', help: 'forward (noGrad) image sizes, N or HxW, comma-separated', default: '256,720x1280' },
  batch: { type: 'number', help: 'training step batch (default: 4 on the CPU adapter, 16 on a GPU)' },
  crop: { type: 'number', help: 'training step crop size, a multiple of 16 ≥ 64 (default: 64 on the CPU adapter, 256 on a GPU)' },
} as const;

const profileFlags = {
  json: common.json,
  reps: { type: 'number', help: 'replays of each dispatch, timed together', default: 5 },
  batch: modelFlags.batch,
  crop: modelFlags.crop,
} as const;

const compileFlags = {
  json: common.json,
  batch: { type: 'number', help: 'training step batch', default: 4 },
  crop: { type: 'number', help: 'training step crop size, a multiple of 16 ≥ 64', default: 64 },
  write: { type: 'boolean', help: "replace this implementation's table in bench/RESULTS.md" },
  'warm-cache': { type: 'boolean', help: "keep the driver's shader cache on (to measure a second run)" },
} as const;

export const help = [
  helpText(
    'lmfn bench kernels [--json] [--quick] [--reps N] [--op NAME[,...]] [--list] [--tfjs]\n' +
      '       lmfn bench kernels --op conv2d --shape 1x64x128x128 --out-channels 64 --kernel 3 --stride 1',
    'Times every kernel family at LMFN\'s shapes (forward and each backward) and the peer workloads W1–W4, after\n' +
      'calibrating the adapter\'s FMA peak and copy bandwidth; reports ms (median, min), GFLOP/s, GB/s and % of peak.\n' +
      'GPU timestamp queries where the adapter has them, else wall clock around device.sync(). Writes\n' +
      'bench/results/<adapter>-kernels.json and the adapter\'s section of bench/RESULTS.md.',
    kernelFlags,
  ),
  helpText(
    'lmfn bench model [--json] [--quick] [--reps N] [--sizes 256,720x1280] [--batch N] [--crop N]',
    'Times LMFN inference (noGrad) at each size (tiled through model/deblur.ts where the whole image exceeds the\n' +
      'adapter\'s storage binding limit) and one training step (forward, MSE, backward, Adam with weight decay):\n' +
      'ms, images/s, dispatches and submits per step, peak memory. Writes bench/results/<adapter>-model.json and\n' +
      'the adapter\'s section of bench/RESULTS.md.',
    modelFlags,
  ),
  helpText(
    'lmfn bench profile [--json] [--reps N] [--batch N] [--crop N]',
    'Where one LMFN training step\'s time goes, per kernel, on any adapter (no timestamp queries needed): the step\n' +
      'is recorded once, then each of its dispatches is replayed alone and timed. Prints dispatches and ms per kernel,\n' +
      'slowest first, and the step\'s own wall clock for comparison. Writes nothing.',
    profileFlags,
  ),
  helpText(
    'lmfn bench compile [--json] [--batch 4] [--crop 64] [--write]',
    'What a first run costs on this implementation: every pipeline of one LMFN training step compiled from an empty\n' +
      'shader cache (MESA_SHADER_CACHE_DISABLE=true is set for the driver), per pipeline and per kernel: creation plus the\n' +
      'first dispatch alone minus the second. Pick the implementation with WGRAD_ADAPTER and the family with WGRAD_KERNELS.',
    compileFlags,
  ),
].join('\n\n');

function checkReps(reps: number | undefined): void {
  if (reps !== undefined && (!Number.isInteger(reps) || reps < 1)) throw new UsageError(`bench: --reps must be a positive integer, got ${reps}`);
}

function runInfo(argv: string[], timing: string): RunInfo {
  return { date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), command: ['lmfn', 'bench', ...argv].join(' '), timing, loadAverage: loadavg() };
}

const log = (line: string) => process.stderr.write(line + '\n');

/** Everything a bench creates it frees again; anything still live is a leak worth reporting. */
function warnIfLeaked(device: Device): void {
  const { liveBytes, liveBuffers } = device.memory();
  if (liveBytes) log(`warning: ${liveBytes} bytes in ${liveBuffers} buffers are still live after the benchmark (a leak)`);
}

async function benchKernels(argv: string[]): Promise<void> {
  const o = parseFlags('bench kernels', kernelFlags, argv);
  checkReps(o.reps);
  let cases: KernelCase[];
  try {
    if (o.shape !== undefined) {
      if (!o.op) throw new UsageError('bench kernels: --shape needs --op conv2d, matmul or softmax');
      for (const k of ['out-channels', 'kernel', 'stride'] as const) {
        const v = o[k];
        if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new UsageError(`bench kernels: --${k} must be a positive integer, got ${v}`);
      }
      if (o.padding !== undefined && (!Number.isInteger(o.padding) || o.padding < 0)) {
        throw new UsageError(`bench kernels: --padding must be an integer ≥ 0, got ${o.padding}`);
      }
      cases = customCases({
        op: o.op, shape: o.shape, outChannels: o['out-channels'], kernel: o.kernel, stride: o.stride, padding: o.padding,
        bias: o.bias, transA: o['trans-a'], transB: o['trans-b'],
      });
    } else {
      cases = selectCases(lmfnCases(), o.op);
    }
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(`bench kernels: ${e.message}`);
    throw e;
  }
  if (o.list) {
    for (const c of cases) console.log(`${c.id.padEnd(28)} ${c.pass.padEnd(22)} ${c.workload}`);
    return;
  }
  if (o.tfjs) {
    if (!cases.some((c) => c.peer)) throw new UsageError('bench kernels: --tfjs runs the peer workloads W1–W4; select them (--op peers) or leave out --op');
    const missing = tfjsMissing();
    if (missing) throw new UsageError(`bench kernels: ${missing}`);
  }
  const device = await openDevice();
  const timer = new Timer(device);
  let tfjs: TfjsSession | null = null;
  try {
    // Started before any timing so that a tfjs that cannot run fails at once.
    if (o.tfjs) {
      try {
        tfjs = await startTfjs(device);
      } catch (e) {
        throw new CommandError(`--tfjs: ${(e as Error).message}`);
      }
    }
    const gpu = device.description.kind === 'gpu';
    const samples = o.reps ?? (o.quick ? 3 : gpu ? 10 : 5);
    const budgetMs = o.quick ? 2000 : gpu ? 3000 : 8000;
    log(`timing: ${timer.method === 'gpu-timestamps' ? 'GPU timestamp queries' : 'wall clock around device.sync() (no timestamp queries on this adapter)'}`);
    const run = runInfo(['kernels', ...argv], '');
    log('calibrating: FMA peak and copy bandwidth …');
    const cal = await calibrate(device, timer, { samples, quick: o.quick });
    log(`calibration: ${fmt(cal.gflops)} GFLOP/s FMA, ${fmt(cal.gbps)} GB/s copy (again at the end; the better one counts)`);
    const started = performance.now();
    const rows = await runKernelCases(device, timer, cal, cases, {
      samples,
      budgetMs,
      onRow: (r, i, n) =>
        log(
          `[${i + 1}/${n}] ${r.id.padEnd(28)} ${fmt(r.ms).padStart(8)} ms (min ${fmt(r.minMs)})` +
            `${r.gflops === null ? '' : `  ${fmt(r.gflops)} GFLOP/s`}  ${fmt(r.gbps)} GB/s${r.leakedBytes ? `  LEAKED ${r.leakedBytes} B` : ''}`,
        ),
    });
    const methods = [...new Set(rows.map((r) => r.method))];
    run.timing =
      (methods.includes('gpu-timestamps')
        ? `GPU timestamps${methods.length > 1 ? ' (some rows wall clock: see JSON)' : ''}`
        : 'wall clock around `await device.sync()` (no timestamp queries on this adapter)') +
      `, median of ${samples} samples; kernel family \`${kernelFamily(device)}\``;
    warnIfLeaked(device);
    if (tfjs) run.tfjs = await tfjs.time(rows, { samples, budgetMs, log });
    const calEnd = await calibrate(device, timer, { samples, quick: o.quick });
    const peak = bestOf([cal, calEnd]);
    applyPeak(rows, peak);
    log(`calibration at the end: ${fmt(calEnd.gflops)} GFLOP/s FMA, ${fmt(calEnd.gbps)} GB/s copy; peak ${fmt(peak.gflops)} GFLOP/s, ${fmt(peak.gbps)} GB/s`);
    run.calibration = {
      ...peak, measured: [cal, calEnd].map((c) => ({ gflops: c.gflops, gbps: c.gbps })), fmaInvocations: cal.fma.invocations, copyBytes: cal.copy.bytes,
    };
    log(`${rows.length} rows in ${fmt((performance.now() - started) / 1000)} s`);
    const partial = o.op !== undefined || o.shape !== undefined;
    if (!o['no-write']) {
      const stored = storeResults<KernelResult>('kernels', device.description, run, rows, (r) => r.id, partial);
      updateResultsMarkdown(stored.slug, 'kernels', renderKernels(stored));
      log(`wrote ${RESULTS_DIR}/${stored.slug}-kernels.json and ${RESULTS_MD}`);
    }
    if (o.json) console.log(JSON.stringify({ adapter: device.description, run, calibration: { start: cal, end: calEnd }, rows }, null, 2));
    else console.log(renderKernels({ kind: 'kernels', slug: adapterSlug(device.description), adapter: device.description, runs: [run], rows: rows.map((r) => ({ ...r, run: 0 })) }));
  } finally {
    tfjs?.dispose();
    timer.dispose();
    device.destroy();
  }
}

function trainDefaults(device: Device, batch: number | undefined, crop: number | undefined): [number, number] {
  const gpu = device.description.kind === 'gpu';
  const b = batch ?? (gpu ? 16 : 4);
  const c = crop ?? (gpu ? 256 : 64);
  if (!Number.isInteger(b) || b < 1) throw new UsageError(`bench: --batch must be a positive integer, got ${b}`);
  if (!Number.isInteger(c) || c % 16 || c < 64) throw new UsageError(`bench: --crop must be a multiple of 16 that is at least 64, got ${c}`);
  return [b, c];
}

async function benchModel(argv: string[]): Promise<void> {
  const o = parseFlags('bench model', modelFlags, argv);
  checkReps(o.reps);
  let sizes: [number, number][];
  try {
    sizes = o.sizes.trim() === '' ? [] : parseSizes(o.sizes);
  } catch (e) {
    throw new UsageError(`bench model: ${(e as Error).message}`);
  }
  const device = await openDevice();
  // Model rows are end-to-end latencies: wall clock even where timestamps exist.
  const timer = new Timer(device, { timestamps: false });
  try {
    const [batch, crop] = trainDefaults(device, o.batch, o.crop);
    const gpu = device.description.kind === 'gpu';
    const samples = o.reps ?? (o.quick ? 3 : gpu ? 10 : 5);
    const run = runInfo(['model', ...argv], `wall clock around \`await device.sync()\`, median of ${samples} samples (tiled rows: ${o.quick ? 1 : 2} whole-image runs)`);
    const started = performance.now();
    const rows = await runModelBench(device, timer, {
      sizes, trainBatch: batch, trainCrop: crop, samples, tiledSamples: o.quick ? 1 : Math.min(samples, 2), budgetMs: o.quick ? 4000 : 20000,
      onRow: (r) => log(`${r.kind.padEnd(14)} ${r.workload.padEnd(40)} ${r.skipped ?? `${fmt(r.ms)} ms (min ${fmt(r.minMs)}), ${fmt(r.imagesPerSecond)} images/s, ${r.dispatches} dispatches, ${r.submits} submits`}`),
    });
    warnIfLeaked(device);
    log(`model bench in ${fmt((performance.now() - started) / 1000)} s`);
    const key = (r: ModelResult) => `${r.kind}:${r.batch}:${r.height}x${r.width}`;
    if (!o['no-write']) {
      const stored = storeResults<ModelResult>('model', device.description, run, rows, key, false);
      updateResultsMarkdown(stored.slug, 'model', renderModel(stored));
      log(`wrote ${RESULTS_DIR}/${stored.slug}-model.json and ${RESULTS_MD}`);
    }
    if (o.json) console.log(JSON.stringify({ adapter: device.description, run, rows }, null, 2));
    else console.log(renderModel({ kind: 'model', slug: adapterSlug(device.description), adapter: device.description, runs: [run], rows: rows.map((r) => ({ ...r, run: 0 })) }));
  } finally {
    timer.dispose();
    device.destroy();
  }
}

async function benchProfile(argv: string[]): Promise<void> {
  const o = parseFlags('bench profile', profileFlags, argv);
  checkReps(o.reps);
  const device = await openDevice();
  try {
    const [batch, crop] = trainDefaults(device, o.batch, o.crop);
    log(`profiling one training step at ${batch}×${crop}² (each dispatch replayed ${o.reps}×) …`);
    const profile = await profileTrainStep(device, batch, crop, o.reps);
    if (o.json) {
      console.log(JSON.stringify({ adapter: device.description, batch, crop, ...profile }, null, 2));
      return;
    }
    const total = profile.rows.reduce((s, r) => s + r.ms, 0);
    console.log('| kernel | dispatches | ms | % |\n|---|---|---|---|');
    for (const r of profile.rows) console.log(`| ${r.kernel} | ${r.dispatches} | ${fmt(r.ms)} | ${fmt((100 * r.ms) / total)} |`);
    console.log(`\n${profile.dispatches} dispatches; replayed alone they sum to ${fmt(total)} ms; the whole step took ${fmt(profile.stepMs)} ms`);
  } finally {
    device.destroy();
  }
}

async function benchCompile(argv: string[]): Promise<void> {
  const o = parseFlags('bench compile', compileFlags, argv);
  if (!Number.isInteger(o.batch) || o.batch < 1) throw new UsageError(`bench compile: --batch must be a positive integer, got ${o.batch}`);
  if (o.crop % 16 || o.crop < 64) throw new UsageError(`bench compile: --crop must be a multiple of 16 that is at least 64, got ${o.crop}`);
  // Read by Mesa when the driver loads, which is when the device is opened below.
  if (!o['warm-cache']) process.env.MESA_SHADER_CACHE_DISABLE = 'true';
  const device = await openDevice();
  try {
    const family = kernelFamily(device);
    log(`compiling one training step at ${o.batch}×${o.crop}² (${family} kernels), shader cache ${o['warm-cache'] ? 'on' : 'off'} …`);
    const result = await measureColdCompile(device, o.batch, o.crop, (r) => log(`  ${fmt(r.coldMs).padStart(7)} ms  ${r.kernel} ${r.variant}`));
    if (o.json) {
      console.log(JSON.stringify({ adapter: device.description, family, ...result }, null, 2));
    } else {
      console.log('| kernel | pipelines | cold ms (sum) | slowest pipeline ms |\n|---|---|---|---|');
      for (const k of compileByKernel(result.rows)) console.log(`| ${k.kernel} | ${k.pipelines} | ${fmt(k.coldMs)} | ${fmt(k.maxMs)} |`);
      const sum = result.rows.reduce((s, r) => s + r.coldMs, 0);
      console.log(`\n${result.pipelines} pipelines, ${fmt(sum)} ms of compiling; the whole measurement took ${fmt(result.totalMs)} ms`);
    }
    if (o.write) {
      const section = compileSection(device.description, family, result, runInfo(['compile', ...argv], 'cold').date);
      writeFileSync(RESULTS_MD, updateCompileSection(existsSync(RESULTS_MD) ? readFileSync(RESULTS_MD, 'utf8') : '', adapterSlug(device.description) + '-' + family, section));
      log(`wrote the ${device.description.implementation} table into ${RESULTS_MD}`);
    }
  } finally {
    device.destroy();
  }
}

export async function run(argv: string[]): Promise<void> {
  const [what, ...rest] = argv;
  if (what === 'kernels') return benchKernels(rest);
  if (what === 'model') return benchModel(rest);
  if (what === 'profile') return benchProfile(rest);
  if (what === 'compile') return benchCompile(rest);
  throw new UsageError(`bench: expected 'kernels', 'model', 'profile' or 'compile'${what ? `, got '${what}'` : ''}`);
}
