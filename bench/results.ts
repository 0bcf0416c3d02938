// Where benchmark results go: bench/results/<adapter-slug>-<kind>.json (the
// rows and how they were measured) and one section per adapter and kind in
// bench/RESULTS.md, rewritten from that JSON on every run.
//
// A run that covers only some rows (--op, --shape) merges them into the
// stored results of the same adapter; a full run replaces them.

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AdapterDescription } from '../engine/node/index.ts';
import type { KernelResult } from './kernels.ts';
import type { ModelResult } from './model.ts';
import { PEERS, PEER_SOURCE, PEER_WORKLOADS } from './peers.ts';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const RESULTS_DIR = join(BENCH_DIR, 'results');
export const RESULTS_MD = join(BENCH_DIR, 'RESULTS.md');

export type BenchKind = 'kernels' | 'model';

export interface CalibrationSummary {
  /** The peak the rows are reported against: the best of `measured`. */
  gflops: number;
  gbps: number;
  /** Each calibration of the run (at its start and at its end). */
  measured: { gflops: number; gbps: number }[];
  fmaInvocations: number;
  copyBytes: number;
}

export interface RunInfo {
  date: string;
  command: string;
  /** How rows were timed, in words. */
  timing: string;
  /** 1/5/15-minute load average of the host when the run started: other work shares the CPU. */
  loadAverage: number[];
  calibration?: CalibrationSummary;
  /** How the live tfjs-webgpu rows were measured (`--tfjs`). */
  tfjs?: string;
}

export interface StoredResults<R> {
  kind: BenchKind;
  slug: string;
  adapter: AdapterDescription;
  runs: RunInfo[];
  /** `run` indexes `runs`. */
  rows: (R & { run: number })[];
}

/** 'llvmpipe-llvm-15-0-6-256-bits' and the like: the adapter's device string, else its description. */
export function adapterSlug(adapter: AdapterDescription): string {
  // GL keeps its bare device name (the results already stored); other backends say theirs, since Mesa's
  // Vulkan and GL drivers both call their device "llvmpipe".
  const device = (adapter.device || adapter.description || 'unknown').toLowerCase();
  const name = adapter.backend === 'opengles' || !adapter.backend ? device : `${adapter.backend}-${device}`;
  return name.replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'unknown';
}

function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Stores this run's rows (merged into earlier ones when `partial`) and returns everything stored. */
export function storeResults<R extends object>(
  kind: BenchKind, adapter: AdapterDescription, run: RunInfo, rows: R[], key: (row: R) => string, partial: boolean,
): StoredResults<R> {
  const slug = adapterSlug(adapter);
  const path = join(RESULTS_DIR, `${slug}-${kind}.json`);
  let runs: RunInfo[] = [run];
  let stored: (R & { run: number })[] = rows.map((r) => ({ ...r, run: 0 }));
  if (partial && existsSync(path)) {
    try {
      const previous = JSON.parse(readFileSync(path, 'utf8')) as StoredResults<R>;
      if (previous.kind === kind && Array.isArray(previous.rows) && Array.isArray(previous.runs)) {
        const fresh = new Set(rows.map(key));
        const kept = previous.rows.filter((r) => !fresh.has(key(r)));
        // Earlier runs that still own a row, renumbered, then this one.
        const used = [...new Set(kept.map((r) => r.run))].sort((a, b) => a - b);
        runs = [...used.map((i) => previous.runs[i]), run];
        const renumber = new Map(used.map((old, i) => [old, i]));
        const current = runs.length - 1;
        // Keep the stored order; new rows go last.
        const byKey = new Map(rows.map((r) => [key(r), r]));
        stored = previous.rows.map((r) => (byKey.has(key(r)) ? { ...byKey.get(key(r))!, run: current } : { ...r, run: renumber.get(r.run)! }));
        const known = new Set(previous.rows.map(key));
        for (const r of rows) if (!known.has(key(r))) stored.push({ ...r, run: current });
      }
    } catch {
      // An unreadable earlier file is replaced by this run.
    }
  }
  const result: StoredResults<R> = { kind, slug, adapter, runs, rows: stored };
  writeAtomic(path, JSON.stringify(result, null, 2) + '\n');
  return result;
}

// ---------------------------------------------------------------------------
// Markdown

/** Three significant digits, without exponent notation. */
export function fmt(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (v === 0) return '0';
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(Math.abs(v))));
  return v.toFixed(Math.min(decimals, 6));
}

const mbText = (b: number | null) => (b === null ? '–' : fmt(b / 1e6));

/** The adapter's name for headings: its device string (llvmpipe's ends in a stray '-'), else its description. */
function adapterName(a: AdapterDescription): string {
  return (a.device || a.description).replace(/-+$/, '');
}

function adapterLine(a: AdapterDescription): string {
  const backend = `${a.kind === 'gpu' ? 'GPU' : 'CPU'} adapter (${a.implementation}, Dawn ${a.backend}), ${a.featureLevel}`;
  return (
    `${a.description}${a.device ? ` — \`${adapterName(a)}\`` : ''}; ${backend}; max storage binding ${fmt(a.maxStorageBufferBindingSize / 2 ** 20)} MiB; ` +
    `timestamp queries: ${a.timestampQuery ? 'yes' : 'no'}`
  );
}

function runLines(runs: RunInfo[]): string[] {
  return runs.map((r, i) => {
    const c = r.calibration;
    const each = c && (c.measured?.length ?? 0) > 1 ? `, best of ${c.measured.map((m) => `${fmt(m.gflops)}/${fmt(m.gbps)}`).join(' and ')} at start and end` : '';
    const cal = c ? `; calibration: FMA peak **${fmt(c.gflops)} GFLOP/s**, copy **${fmt(c.gbps)} GB/s** (${fmt(c.copyBytes / 2 ** 20)} MiB${each})` : '';
    const load = r.loadAverage.map((v) => v.toFixed(2)).join(' / ');
    const tfjs = r.tfjs ? `; ${r.tfjs}` : '';
    return `- ${runs.length > 1 ? `run ${i}: ` : ''}${r.date}, \`${r.command}\`; ${r.timing}${cal}${tfjs}; host load average at start ${load}`;
  });
}

function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

export function renderKernels(s: StoredResults<KernelResult>): string {
  const many = s.runs.length > 1;
  const lines = [`## Kernels on ${adapterName(s.adapter)} (${s.adapter.kind})`, '', `- adapter: ${adapterLine(s.adapter)}`, ...runLines(s.runs), ''];
  const header = ['family', 'workload', 'pass', 'ms (median)', 'min ms', 'GFLOP/s', 'GB/s', '% FMA peak', '% copy BW', ...(many ? ['run'] : [])];
  lines.push(
    ...table(
      header,
      s.rows.map((r) => [
        r.family, r.workload, r.pass, fmt(r.ms), fmt(r.minMs), fmt(r.gflops), fmt(r.gbps), r.pctFlops === null ? '–' : fmt(r.pctFlops, 2), fmt(r.pctBandwidth, 2),
        ...(many ? [String(r.run)] : []),
      ]),
    ),
  );
  const leaks = s.rows.filter((r) => r.leakedBytes);
  if (leaks.length) lines.push('', `**Leaked memory** (bytes still live after the row): ${leaks.map((r) => `${r.id} ${r.leakedBytes}`).join(', ')}`);
  lines.push('', ...peerTable(s));
  return lines.join('\n');
}

function peerTable(s: StoredResults<KernelResult>): string[] {
  const ours = new Map(s.rows.filter((r) => r.peer).map((r) => [r.peer!, r]));
  if (!ours.size) return [];
  const live = s.rows.some((r) => r.tfjs);
  const [p1, p4, ...others] = PEERS;
  const header = [
    'workload', 'ours ms (GFLOP/s)', ...(live ? ['tfjs-webgpu live (this run)', 'live ms / ours'] : []),
    `${p1.id} ${p1.name}`, `${p1.id} ms / ours`, `${p4.id} ${p4.name}`, `${p4.id} ms / ours`, ...others.map((p) => `${p.id} ${p.name}`),
  ];
  // dX and dW rows only where something compares with them (the static peers have none).
  const compared = (key: string) => ours.get(key)!.tfjs || PEERS.some((p) => p.ms[key] !== undefined);
  const rows = PEER_WORKLOADS.filter((w) => ours.has(w.key) && compared(w.key)).map((w) => {
    const r = ours.get(w.key)!;
    const ratio = (peer: number | undefined) => (peer === undefined ? '–' : `${fmt(peer / r.ms)}×`);
    return [
      w.what, `${fmt(r.ms)} (${fmt(r.gflops)})`, ...(live ? [fmt(r.tfjs?.ms), ratio(r.tfjs?.ms)] : []),
      fmt(p1.ms[w.key]), ratio(p1.ms[w.key]), fmt(p4.ms[w.key]), ratio(p4.ms[w.key]), ...others.map((p) => fmt(p.ms[w.key])),
    ];
  });
  const comparable = s.adapter.kind === 'cpu'
    ? 'Same machine and adapter as the peers (if this run was on the project\'s 2-core CPU machine).'
    : `**Not comparable**: the peers${live ? ' (P columns)' : ''} ran on the 2-core CPU machine, this table on a GPU.`;
  const liveText = live ? ' "tfjs-webgpu live": TensorFlow.js WebGPU on this adapter, timed in the same run as our row (`--tfjs`).' : '';
  return [
    '### Peer workloads W1–W4 (median ms)',
    '',
    `Peers from ${PEER_SOURCE}. "ms / ours" > 1: ours is that many times faster. ${comparable}${liveText}`,
    '',
    ...table(header, rows),
  ];
}

export function renderModel(s: StoredResults<ModelResult>): string {
  const many = s.runs.length > 1;
  const lines = [`## LMFN model on ${adapterName(s.adapter)} (${s.adapter.kind})`, '', `- adapter: ${adapterLine(s.adapter)}`, ...runLines(s.runs), ''];
  const header = ['what', 'workload', 'ms (median)', 'min ms', 'images/s', 'dispatches', 'submits', 'peak live MB', 'held MB', 'note', ...(many ? ['run'] : [])];
  lines.push(
    ...table(
      header,
      s.rows.map((r) => [
        r.kind === 'train-step' ? 'training step' : r.kind === 'forward' ? 'forward (noGrad)' : 'forward (noGrad), tiled',
        r.workload, r.skipped ?? fmt(r.ms), fmt(r.minMs), fmt(r.imagesPerSecond), r.dispatches === null ? '–' : String(r.dispatches),
        r.submits === null ? '–' : String(r.submits), mbText(r.peakBytes), mbText(r.heldBytes), r.note ?? '', ...(many ? [String(r.run)] : []),
      ]),
    ),
  );
  return lines.join('\n');
}

const HEADER = `# Benchmarks

Written by \`lmfn bench kernels\` and \`lmfn bench model\` (train/cli/commands/bench.ts, bench/*.ts); each run rewrites its own
section below (one per adapter and kind) from \`bench/results/<adapter>-<kind>.json\`. Do not edit the sections by hand.

## How the numbers are made

- **Timing.** Median (and min) over timed samples after a warm-up run. A sample records R repetitions of the work back to
  back into one compute pass and one submit and waits once, so the ~0.1 ms submit-and-wait latency is amortised (R is
  chosen from a timed warm-up so a sample lasts ~50 ms, ~20 ms with timestamps; slower kernels have R = 1). With \`timestamp-query\`
  (GPU adapters) a sample's time is GPU time: the sum over its passes of end − beginning timestamps; the CPU adapter
  (llvmpipe) has no timestamps, so there it is wall clock from recording the first command to the end of
  \`await device.sync()\`. The model rows are always wall clock (end-to-end, CPU recording included).
- **Backward rows** run the op's own backward rule, as training does: the forward is recorded once with only the timed
  inputs trainable, then each repetition is \`out.backward(dy)\` on that graph (dX rows compute dX alone, dW+db rows the
  weight and bias gradients). Max-pool's backward calls its launcher (the op keeps argmax inside its closure).
  fwd+bwd rows run forward and backward (all inputs) per repetition.
- **GFLOP/s** = 2·MACs / median time (conv and matmul only; a dX or dW pass has the forward's MACs). **GB/s** = bytes of
  every tensor the row reads or writes, each counted once, / median time (a lower bound on real traffic).
- **% FMA peak / % copy BW**: against the calibration of the same run on the same adapter (the fastest sample of the
  calibrations at its start and its end): a compute-bound kernel of 8 independent vec4 FMA chains per invocation (kernels/calibrate.wgsl) and
  a vec4 copy of a 128 MiB buffer (bytes read + written).
- **Model**: dispatches and submits per forward or step are deltas of \`device.dispatchCount\` and of the submit count;
  "peak live MB" is the highest memory held by live tensors (parameters and Adam state included) during one
  forward/step, "held MB" what the engine holds from the device afterwards (live + pooled for reuse). A training step
  is recorded as \`lmfn train\` records it: upload the batch, forward, MSE, backward, Adam (weight decay 1e-4), read the
  loss back (one submit per step).
- **Live TensorFlow.js (\`--tfjs\`)**: the peer workloads also run through TensorFlow.js 4.22's WebGPU backend
  (\`@tensorflow/tfjs-core\` and \`@tensorflow/tfjs-backend-webgpu\`, dev dependencies imported only with the flag) in the
  same process and run, after our rows: a stand-in \`navigator.gpu\` gives it a fresh adapter of the engine's kind (the
  OpenGL ES one with \`featureLevel: 'compatibility'\` on the CPU fallback, the core one on a GPU) with the device limits
  raised to the adapter's. NHWC (tfjs's layout); dX and dW are tfjs's \`Conv2DBackpropInput\` and
  \`Conv2DBackpropFilter\` kernels (what its conv2d gradient runs), fwd+bwd the forward and both. Timed as our wall-clock
  rows are (warm-up, same sample count, each sample ending in the backend's submit and \`await
  queue.onSubmittedWorkDone()\`), also on GPUs. The peer table then adds "tfjs-webgpu live (this run)" and "live ms / ours".
- **Kernel family**: conv and matmul rows time the family the engine picks for the adapter (\`tiled\`, workgroup-memory
  tiles, on GPUs; \`direct\`, register blocks, on llvmpipe), named in the run line; \`WGRAD_KERNELS=tiled|direct\` times
  the other one (a partial run with \`--op conv2d,matmul\` replaces only those rows).
- **PyTorch training step**: \`/usr/bin/python3 bench/interop/step_time.py --batch 4 --crop 64\` times the same step
  (forward, MSE, backward, Adam with weight decay) through an independent PyTorch LMFN (bench/interop/lmfn.py) on the
  CPU, for the "within 5× of PyTorch" comparison in the same sitting.
- **Where a step's time goes**: \`lmfn bench profile\` records one training step, replays each dispatch alone and sums
  the times per kernel (no timestamps needed; diagnostic, written nowhere).
- The CPU machine is shared (2 cores, other work running): samples spread widely and the load average is printed with
  each run. Compare min times as well as medians, and only rows of the same run.

## Commands

\`\`\`
lmfn bench kernels [--json] [--quick] [--reps N] [--op FAMILY|peers|ID-PREFIX[,...]] [--list] [--tfjs]
lmfn bench kernels --op conv2d --shape 1x64x128x128 --out-channels 64 --kernel 3 --stride 1 [--padding P] [--bias]
lmfn bench kernels --op matmul --shape MxKxN | BxMxKxN [--trans-a] [--trans-b]
lmfn bench kernels --op softmax --shape ROWSxCOLS
lmfn bench model [--json] [--quick] [--reps N] [--sizes 256,720x1280] [--batch N] [--crop N]
lmfn bench profile [--json] [--reps N] [--batch N] [--crop N]
\`\`\`
`;

const marker = (slug: string, kind: BenchKind, edge: 'begin' | 'end') => `<!-- bench:${slug}:${kind}:${edge} -->`;

/** Rewrites RESULTS.md: the fixed header, then every stored section, with this one replaced or added. */
export function updateResultsMarkdown(slug: string, kind: BenchKind, section: string): void {
  const old = existsSync(RESULTS_MD) ? readFileSync(RESULTS_MD, 'utf8') : '';
  const sections: { key: string; text: string }[] = [];
  const re = /<!-- bench:([a-z0-9-]+):(kernels|model):begin -->\n([\s\S]*?)\n<!-- bench:\1:\2:end -->/g;
  for (const m of old.matchAll(re)) sections.push({ key: `${m[1]}:${m[2]}`, text: m[3] });
  const key = `${slug}:${kind}`;
  const at = sections.findIndex((s) => s.key === key);
  if (at >= 0) sections[at].text = section;
  else sections.push({ key, text: section });
  const body = sections.map((s) => {
    const [sl, k] = s.key.split(':') as [string, BenchKind];
    return `${marker(sl, k, 'begin')}\n${s.text}\n${marker(sl, k, 'end')}`;
  });
  writeAtomic(RESULTS_MD, `${HEADER}\n${body.join('\n\n')}\n`);
}
