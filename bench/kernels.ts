// `lmfn bench kernels`: every kernel family at LMFN's real shapes, forward and
// each backward, plus the four peer workloads (W1–W4 of
// ../shared/peers/RESULTS.md) measured on our kernels.
//
// Forward rows run the public op under noGrad. Backward rows run the op's own
// backward rule, the one training uses: the forward is recorded once with only
// the timed inputs marked trainable, then each repetition is `out.backward(dy)`
// on that graph (the rules check `requiresGrad` of each input, so a dX row
// computes dX alone). The autograd bookkeeping around it is CPU work of a few
// microseconds.

import { Tensor, noGrad, ops, sizeOf, tidy, type Device } from '../engine/node/index.ts';
import type { Calibration } from './calibrate.ts';
import type { Timer, Timing } from './timer.ts';

/** What a timed row does, set up on a device. */
interface Prepared {
  run(): void;
  dispose(): void;
}

export interface KernelCase {
  /** Stable id, e.g. 'conv3x3-64-q256.fwd'. */
  id: string;
  /** Op family: conv2d, matmul, softmax, pixelShuffle, bilinear, maxPool, conv3d, attention. */
  family: string;
  /** The workload in words, with its shapes. */
  workload: string;
  /** fwd, dX, dW, dW+db, dA, dB, bwd (every input), fwd+bwd. */
  pass: string;
  /** 2·MACs for conv/matmul rows; softmax and elementwise work is not counted. */
  flops?: number;
  /** Bytes of every tensor the row reads or writes, each counted once. */
  bytes: number;
  /** The peer workload (W1…W4) this row belongs to; `--op peers` selects these. */
  peerWorkload?: string;
  /** The peer table cell this row is compared with (W1_fwd, W1_dX, W1_dW, W1_fwdbwd, W3_matmul, …). */
  peer?: string;
  prepare(device: Device): Prepared;
}

export interface KernelResult {
  id: string;
  family: string;
  workload: string;
  pass: string;
  ms: number;
  minMs: number;
  samples: number;
  repsPerSample: number;
  method: Timing['method'];
  gflops: number | null;
  gbps: number;
  /** Share of the calibrated FMA peak (conv/matmul rows). */
  pctFlops: number | null;
  /** Share of the calibrated copy bandwidth. */
  pctBandwidth: number;
  peer?: string;
  /** Bytes still live after the row was torn down (should be 0). */
  leakedBytes?: number;
  /** The same workload through tfjs-webgpu in the same run (`--tfjs`, bench/tfjs.ts). */
  tfjs?: TfjsTiming;
}

export interface TfjsTiming {
  ms: number;
  minMs: number;
  samples: number;
  repsPerSample: number;
}

// ---------------------------------------------------------------------------
// Inputs and the generic forward / backward harness

let seed = 1;
function randomData(n: number, scale: number): Float32Array {
  // A cheap LCG: the values only need to be finite, varied and reproducible.
  const out = new Float32Array(n);
  let s = seed++ * 2654435761;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

function randomTensor(device: Device, shape: readonly number[], scale = 1): Tensor {
  return Tensor.fromData(device, randomData(sizeOf(shape), scale), shape);
}

interface Operand {
  shape: number[];
  /** Marked trainable: its gradient is computed in backward rows. */
  grad?: boolean;
  scale?: number;
}

/** Every tensor of the graph that ends in `root`, then disposed (they stay alive while a row times backward). */
function disposeGraph(root: Tensor): void {
  const seen = new Set<Tensor>();
  const stack = [root];
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t)) continue;
    seen.add(t);
    for (const input of t.gradFn?.inputs ?? []) stack.push(input);
  }
  for (const t of seen) t.dispose();
}

type Mode = 'fwd' | 'bwd' | 'fwd+bwd';

function opRow(operands: Operand[], forward: (inputs: Tensor[]) => Tensor, mode: Mode): KernelCase['prepare'] {
  return (device) => {
    const inputs = operands.map((o) => randomTensor(device, o.shape, o.scale ?? 1));
    if (mode === 'fwd') {
      return {
        run: () => noGrad(() => tidy(() => void forward(inputs))),
        dispose: () => inputs.forEach((t) => t.dispose()),
      };
    }
    const leaves = inputs.filter((t, i) => operands[i].grad && t.requireGrad());
    const clearGrads = () => {
      for (const leaf of leaves) {
        leaf.grad?.dispose();
        leaf.grad = null;
      }
    };
    if (mode === 'fwd+bwd') {
      const outShape = noGrad(() => tidy(() => {
        const probe = forward(inputs);
        const shape = [...probe.shape];
        probe.dispose();
        return shape;
      }));
      const dy = randomTensor(device, outShape);
      return {
        run: () => {
          tidy(() => forward(inputs).backward(dy));
          clearGrads();
        },
        dispose: () => {
          clearGrads();
          inputs.forEach((t) => t.dispose());
          dy.dispose();
        },
      };
    }
    const out = forward(inputs);
    const dy = randomTensor(device, out.shape);
    {
      return {
        run: () => {
          out.backward(dy);
          clearGrads();
        },
        dispose: () => {
          clearGrads();
          disposeGraph(out);
          inputs.forEach((t) => t.dispose());
          dy.dispose();
        },
      };
    }
  };
}

const bytesOf = (...shapes: number[][]) => 4 * shapes.reduce((s, shape) => s + sizeOf(shape), 0);
const dims = (shape: readonly number[]) => shape.join('×');

// ---------------------------------------------------------------------------
// Families

export interface ConvSpec {
  id: string;
  /** What the conv is in LMFN (or in the peers file). */
  what: string;
  input: [number, number, number, number];
  outChannels: number;
  kernel: number;
  stride: number;
  padding: number;
  bias: boolean;
  passes: ('fwd' | 'dX' | 'dW' | 'fwd+bwd')[];
  peer?: string;
}

export function convCases(spec: ConvSpec): KernelCase[] {
  const [n, c, h, w] = spec.input;
  const { outChannels: o, kernel: k, stride, padding } = spec;
  const ho = Math.floor((h + 2 * padding - k) / stride) + 1;
  const wo = Math.floor((w + 2 * padding - k) / stride) + 1;
  const xShape = [n, c, h, w];
  const wShape = [o, c, k, k];
  const yShape = [n, o, ho, wo];
  const bShape = spec.bias ? [o] : [0];
  const macs = n * o * ho * wo * c * k * k;
  const workload = `${spec.what}: conv ${k}×${k}${stride > 1 ? ` s${stride}` : ''} ${c}→${o}, ${dims(xShape)} → ${ho}×${wo}`;
  const forward = ([x, weight, b]: Tensor[]) => ops.conv2d(x, weight, b ?? null, { stride, padding });
  const operands = (gx: boolean, gw: boolean): Operand[] => [
    { shape: xShape, grad: gx },
    { shape: wShape, grad: gw, scale: 1 / Math.sqrt(c * k * k) },
    ...(spec.bias ? [{ shape: [o], grad: gw }] : []),
  ];
  const base = { family: 'conv2d', workload, peerWorkload: spec.peer };
  return spec.passes.map((pass): KernelCase => {
    const peer = spec.peer && `${spec.peer}_${pass === 'fwd+bwd' ? 'fwdbwd' : pass}`;
    switch (pass) {
      case 'fwd':
        return { ...base, id: `${spec.id}.fwd`, pass, flops: 2 * macs, bytes: bytesOf(xShape, wShape, bShape, yShape), peer, prepare: opRow(operands(false, false), forward, 'fwd') };
      case 'dX':
        return { ...base, id: `${spec.id}.dX`, pass, flops: 2 * macs, bytes: bytesOf(yShape, wShape, xShape), peer, prepare: opRow(operands(true, false), forward, 'bwd') };
      case 'dW':
        return {
          ...base, id: `${spec.id}.dW`, pass: spec.bias ? 'dW+db' : 'dW', flops: 2 * macs, bytes: bytesOf(yShape, xShape, wShape, bShape), peer,
          prepare: opRow(operands(false, true), forward, 'bwd'),
        };
      case 'fwd+bwd':
        return {
          ...base, id: `${spec.id}.fwdbwd`, pass: spec.bias ? 'fwd+bwd (dX, dW, db)' : 'fwd+bwd (dX, dW)', flops: 6 * macs,
          bytes: bytesOf(xShape, wShape, bShape, yShape) + bytesOf(yShape, wShape, xShape) + bytesOf(yShape, xShape, wShape, bShape), peer,
          prepare: opRow(operands(true, true), forward, 'fwd+bwd'),
        };
    }
  });
}

export interface MatmulSpec {
  id: string;
  what: string;
  /** 0: plain 2-D operands. */
  batch: number;
  m: number;
  k: number;
  n: number;
  transA?: boolean;
  transB?: boolean;
  passes: ('fwd' | 'dA' | 'dB')[];
  peer?: string;
}

export function matmulCases(spec: MatmulSpec): KernelCase[] {
  const { batch, m, k, n, transA = false, transB = false } = spec;
  const lead = batch ? [batch] : [];
  const aShape = [...lead, ...(transA ? [k, m] : [m, k])];
  const bShape = [...lead, ...(transB ? [n, k] : [k, n])];
  const cShape = [...lead, m, n];
  const macs = Math.max(1, batch) * m * n * k;
  const op = `${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'}`;
  const workload = `${spec.what}: ${op}, A ${dims(aShape)}, B ${dims(bShape)} → ${dims(cShape)}`;
  const forward = ([a, b]: Tensor[]) => ops.matmul(a, b, { transA, transB });
  const operands = (ga: boolean, gb: boolean): Operand[] => [
    { shape: aShape, grad: ga, scale: 0.1 },
    { shape: bShape, grad: gb, scale: 0.1 },
  ];
  return spec.passes.map((pass): KernelCase => ({
    id: `${spec.id}.${pass}`,
    family: 'matmul',
    workload,
    pass,
    flops: 2 * macs,
    bytes: pass === 'fwd' ? bytesOf(aShape, bShape, cShape) : pass === 'dA' ? bytesOf(cShape, bShape, aShape) : bytesOf(cShape, aShape, bShape),
    ...(spec.peer ? { peer: spec.peer, peerWorkload: spec.peer.slice(0, 2) } : {}),
    prepare: opRow(operands(pass === 'dA', pass === 'dB'), forward, pass === 'fwd' ? 'fwd' : 'bwd'),
  }));
}

function simpleCases(
  family: string, id: string, workload: string, input: number[], output: number[],
  forward: (x: Tensor) => Tensor, extraBwdBytes = 0,
): KernelCase[] {
  return [
    { id: `${id}.fwd`, family, workload, pass: 'fwd', bytes: bytesOf(input, output), prepare: opRow([{ shape: input }], ([x]) => forward(x), 'fwd') },
    {
      id: `${id}.bwd`, family, workload, pass: 'dX', bytes: bytesOf(output, input) + extraBwdBytes,
      prepare: opRow([{ shape: input, grad: true }], ([x]) => forward(x), 'bwd'),
    },
  ];
}

function maxPoolCases(): KernelCase[] {
  const input = [1, 12, 31, 31];
  const [kernel, stride] = [7, 3];
  const out = [1, 12, Math.floor((31 - kernel) / stride) + 1, Math.floor((31 - kernel) / stride) + 1];
  const workload = `ESA max-pool ${kernel}/${stride} at a 256² crop: ${dims(input)} → ${out[2]}×${out[3]}`;
  // The forward also writes the argmax (out's size), which the backward reads.
  return simpleCases('maxPool', 'maxpool-esa', workload, input, out, (x) => ops.maxPool2d(x, kernel, stride), bytesOf(out)).map((c) =>
    c.pass === 'fwd' ? { ...c, bytes: c.bytes + bytesOf(out) } : c,
  );
}

/** ACFM's pseudo-3D conv on the decoder's 50 channels as a depth axis (spec §5.4). */
function pseudo3dCases(): KernelCase[] {
  const x = [1, 1, 50, 64, 64];
  const voxels = sizeOf(x);
  const parts = [
    { id: 'p3d-conv1', what: 'ACFM conv1 1×3×3, pad (0,1,1)', w: [1, 1, 1, 3, 3], padding: [0, 1, 1] as [number, number, number], taps: 9 },
    { id: 'p3d-conv2', what: 'ACFM conv2 3×1×1, pad (1,0,0)', w: [1, 1, 3, 1, 1], padding: [1, 0, 0] as [number, number, number], taps: 3 },
  ];
  return parts.flatMap((p) => {
    const workload = `${p.what} at a 256² crop: ${dims(x)}`;
    const forward = ([v, w, b]: Tensor[]) => ops.conv3d(v, w, b, { padding: p.padding });
    const operands = (grad: boolean): Operand[] => [{ shape: x, grad }, { shape: p.w, grad, scale: 0.3 }, { shape: [1], grad }];
    return [
      { id: `${p.id}.fwd`, family: 'conv3d', workload, pass: 'fwd', flops: 2 * voxels * p.taps, bytes: bytesOf(x, p.w, x), prepare: opRow(operands(false), forward, 'fwd') },
      {
        id: `${p.id}.bwd`, family: 'conv3d', workload, pass: 'bwd (dX, dW, db)', flops: 4 * voxels * p.taps, bytes: bytesOf(x, x, p.w, x, p.w, [1]),
        prepare: opRow(operands(true), forward, 'bwd'),
      },
    ];
  });
}

/** W4: Y = softmax(X·Xᵀ)·X (no grad), X [rows, cols]. */
function attentionCase(rows: number, cols: number, peer: string): KernelCase {
  const x = [rows, cols];
  return {
    id: `attention-${rows}x${cols}.fwd`,
    family: 'attention',
    workload: `peer W4: Y = softmax(X·Xᵀ)·X, X ${dims(x)} (softmax FLOPs not counted)`,
    pass: 'fwd',
    flops: 2 * 2 * rows * rows * cols,
    bytes: bytesOf(x, [rows, rows]) + bytesOf([rows, rows], [rows, rows]) + bytesOf([rows, rows], x, x),
    peer,
    peerWorkload: peer.slice(0, 2),
    prepare: opRow([{ shape: x, scale: 0.02 }], ([v]) => ops.matmul(ops.softmax(ops.matmul(v, v, { transB: true })), v), 'fwd'),
  };
}

/** Every built-in row, in report order. */
export function lmfnCases(): KernelCase[] {
  const alfm = (k: number, label: string, tag: string): KernelCase[] => [
    ...matmulCases({ id: `alfm-xxt-${tag}`, what: `ALFM energy X·Xᵀ at ${label}`, batch: 1, m: 200, k, n: 200, transB: true, passes: ['fwd', 'dA', 'dB'] }),
    ...matmulCases({ id: `alfm-ax-${tag}`, what: `ALFM A·X at ${label}`, batch: 1, m: 200, k: 200, n: k, passes: ['fwd', 'dA', 'dB'] }),
  ];
  return [
    ...convCases({ id: 'conv3x3-64-q256', what: 'encoder res2 at 256² (1/4 scale)', input: [1, 64, 64, 64], outChannels: 64, kernel: 3, stride: 1, padding: 1, bias: true, passes: ['fwd', 'dX', 'dW'] }),
    ...convCases({ id: 'conv3x3-64-q720p', what: 'encoder res2 at 720×1280 (1/4 scale)', input: [1, 64, 180, 320], outChannels: 64, kernel: 3, stride: 1, padding: 1, bias: true, passes: ['fwd', 'dX', 'dW'] }),
    ...convCases({ id: 'conv3x3s2-64-down1', what: 'encoder.down1 at 256²', input: [1, 64, 256, 256], outChannels: 64, kernel: 3, stride: 2, padding: 1, bias: true, passes: ['fwd', 'dX', 'dW'] }),
    ...convCases({ id: 'rfdb-1x1-50-25', what: 'RFDB c1_d at 256²', input: [1, 50, 64, 64], outChannels: 25, kernel: 1, stride: 1, padding: 0, bias: true, passes: ['fwd', 'dX', 'dW'] }),
    ...convCases({ id: 'rfdb-3x3-50-50', what: 'RFDB c1_r at 256²', input: [1, 50, 64, 64], outChannels: 50, kernel: 3, stride: 1, padding: 1, bias: true, passes: ['fwd', 'dX', 'dW'] }),
    ...alfm(64 * 64, '256²', 'k4096'),
    ...alfm(180 * 320, '720×1280', 'k57600'),
    ...simpleCases('softmax', 'softmax-200', 'ALFM softmax(−E), 200×200 (batch 1)', [1, 200, 200], [1, 200, 200], (x) => ops.softmax(x, { scale: -1 }), 4 * 200 * 200),
    ...simpleCases('pixelShuffle', 'pixelshuffle-tail', 'decoder tail pixel shuffle r=4 at 256²: 1×48×64×64 → 1×3×256×256', [1, 48, 64, 64], [1, 3, 256, 256], (x) => ops.pixelShuffle(x, 4)),
    ...simpleCases('bilinear', 'bilinear-res3b', 'encoder ×2 bilinear upsample at 256²: 1×64×32×32 → 64×64', [1, 64, 32, 32], [1, 64, 64, 64], (x) => ops.upsample2x(x)),
    ...maxPoolCases(),
    ...pseudo3dCases(),
    ...peerCases(),
  ];
}

/** W1–W4 of the peers file (no bias, as the peers ran them). */
export function peerCases(): KernelCase[] {
  return [
    ...convCases({ id: 'W1-conv3x3-64-128', what: 'peer W1', input: [1, 64, 128, 128], outChannels: 64, kernel: 3, stride: 1, padding: 1, bias: false, passes: ['fwd', 'dX', 'dW', 'fwd+bwd'], peer: 'W1' }),
    ...convCases({ id: 'W2-conv3x3s2-64-128', what: 'peer W2', input: [1, 64, 128, 128], outChannels: 64, kernel: 3, stride: 2, padding: 1, bias: false, passes: ['fwd', 'dX', 'dW', 'fwd+bwd'], peer: 'W2' }),
    ...matmulCases({ id: 'W3-matmul-1024', what: 'peer W3', batch: 0, m: 1024, k: 1024, n: 1024, passes: ['fwd'], peer: 'W3_matmul' }),
    attentionCase(256, 4096, 'W4_attn'),
  ];
}

// ---------------------------------------------------------------------------
// A user's own workload (--op NAME --shape ...)

export interface CustomOptions {
  op: string;
  shape: string;
  outChannels?: number;
  kernel?: number;
  stride?: number;
  padding?: number;
  bias?: boolean;
  transA?: boolean;
  transB?: boolean;
}

function parseDims(text: string, what: string, counts: number[]): number[] {
  const d = text.split(/[x×,]/).map(Number);
  if (!counts.includes(d.length) || !d.every((v) => Number.isInteger(v) && v > 0)) {
    throw new RangeError(`--shape ${text}: ${what} must be ${counts.join(' or ')} positive integers joined by 'x'`);
  }
  return d;
}

/** Rows for `--op conv2d|matmul|softmax --shape ...`; throws RangeError on a bad request. */
export function customCases(o: CustomOptions): KernelCase[] {
  switch (o.op) {
    case 'conv2d': {
      const [n, c, h, w] = parseDims(o.shape, 'conv2d input NxCxHxW', [4]);
      const kernel = o.kernel ?? 3;
      const spec: ConvSpec = {
        id: `custom-conv${kernel}x${kernel}`, what: 'custom', input: [n, c, h, w], outChannels: o.outChannels ?? c,
        kernel, stride: o.stride ?? 1, padding: o.padding ?? Math.floor(kernel / 2), bias: o.bias ?? false, passes: ['fwd', 'dX', 'dW', 'fwd+bwd'],
      };
      const ho = Math.floor((h + 2 * spec.padding - kernel) / spec.stride) + 1;
      const wo = Math.floor((w + 2 * spec.padding - kernel) / spec.stride) + 1;
      if (ho < 1 || wo < 1) throw new RangeError(`--shape ${o.shape}: a ${kernel}×${kernel} kernel with padding ${spec.padding} does not fit`);
      return convCases(spec);
    }
    case 'matmul': {
      const d = parseDims(o.shape, 'matmul MxKxN or BxMxKxN', [3, 4]);
      const [batch, m, k, n] = d.length === 4 ? d : [0, ...d];
      return matmulCases({ id: 'custom-matmul', what: 'custom', batch, m, k, n, transA: o.transA, transB: o.transB, passes: ['fwd', 'dA', 'dB'] });
    }
    case 'softmax': {
      const [rows, cols] = parseDims(o.shape, 'softmax ROWSxCOLS', [2]);
      return simpleCases('softmax', 'custom-softmax', `custom softmax ${rows}×${cols}`, [rows, cols], [rows, cols], (x) => ops.softmax(x), 4 * rows * cols);
    }
    default:
      throw new RangeError(`--shape works with --op conv2d, matmul or softmax, not '${o.op}'`);
  }
}

/** The rows `--op` selects: a family name, 'peers', or an id prefix; comma-separated. */
export function selectCases(all: KernelCase[], op: string | undefined): KernelCase[] {
  if (!op) return all;
  const wanted = op.split(',').map((s) => s.trim()).filter(Boolean);
  const picked = all.filter((c) => wanted.some((w) => c.family === w || (w === 'peers' && c.peerWorkload) || c.id.startsWith(w)));
  if (!picked.length) {
    const families = [...new Set(all.map((c) => c.family))].join(', ');
    throw new RangeError(`--op ${op} matches no benchmark; families: ${families}, peers (W1–W4), or an id prefix (see --list)`);
  }
  return picked;
}

// ---------------------------------------------------------------------------
// Running

export interface RunOptions {
  samples: number;
  budgetMs: number;
  /** Called after each row (progress on stderr). */
  onRow?: (row: KernelResult, index: number, total: number) => void;
}

/** Sets each row's share of the peak FMA throughput and copy bandwidth. */
export function applyPeak(rows: KernelResult[], peak: { gflops: number; gbps: number }): void {
  for (const r of rows) {
    r.pctFlops = r.gflops === null ? null : (100 * r.gflops) / peak.gflops;
    r.pctBandwidth = (100 * r.gbps) / peak.gbps;
  }
}

export async function runKernelCases(device: Device, timer: Timer, calibration: Pick<Calibration, 'gflops' | 'gbps'>, cases: KernelCase[], options: RunOptions): Promise<KernelResult[]> {
  const rows: KernelResult[] = [];
  for (const [i, c] of cases.entries()) {
    await device.sync();
    const liveBefore = device.memory().liveBytes;
    const prepared = c.prepare(device);
    let timing: Timing;
    try {
      timing = await timer.time(prepared.run, { samples: options.samples, budgetMs: options.budgetMs });
    } finally {
      prepared.dispose();
    }
    await device.sync();
    const leaked = device.memory().liveBytes - liveBefore;
    const seconds = timing.medianMs / 1e3;
    const gflops = c.flops ? c.flops / 1e9 / seconds : null;
    const gbps = c.bytes / 1e9 / seconds;
    const row: KernelResult = {
      id: c.id,
      family: c.family,
      workload: c.workload,
      pass: c.pass,
      ms: timing.medianMs,
      minMs: timing.minMs,
      samples: timing.samplesMs.length,
      repsPerSample: timing.repsPerSample,
      method: timing.method,
      gflops,
      gbps,
      pctFlops: gflops === null ? null : (100 * gflops) / calibration.gflops,
      pctBandwidth: (100 * gbps) / calibration.gbps,
      ...(c.peer ? { peer: c.peer } : {}),
      ...(leaked ? { leakedBytes: leaked } : {}),
    };
    rows.push(row);
    options.onRow?.(row, i, cases.length);
    // Large rows (720p activations) should not stay pooled for the small ones after them.
    device.emptyCache();
  }
  return rows;
}
