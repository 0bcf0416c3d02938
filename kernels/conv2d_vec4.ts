// Launchers for the vec4 conv family (kernels/conv2d_vec4*.wgsl): the fast paths of conv2d (3×3 with
// padding 1 and stride 1 or 2 on rows whose widths are multiples of 4; 1×1
// on planes whose size is a multiple of 4). conv2d.ts routes a conv here when
// `convVec4Applies`; the tile choices are pure functions of the shapes and
// the adapter kind, exported for tests.

import { Kernel, f32bits, groups1d, launch, wgsl, splitReduction, type Operand, Scratch } from '../engine/kernel.ts';
import { GEOMETRY_WORDS, geometryWords, type ConvGeometry } from './conv2d_geometry.ts';
import { PLAIN, epilogueParams, type Epilogue } from './epilogue.ts';

// Each entry point's file, with the family's shared declarations (conv2d_vec4.wgsl) and what those use.
const sources = Object.fromEntries(
  (['3x3', '1x1', 'pack'] as const).map((f) => [f, wgsl(`conv2d_vec4_${f}.wgsl`, 'conv2d_params.wgsl', 'epilogue.wgsl', 'conv2d_vec4.wgsl')]),
) as Record<'3x3' | '1x1' | 'pack', () => string>;
/** Channels per forward invocation (two vec4 groups of packed weights); the packed channel count is a multiple of it. */
const CHANNELS = 8;
/** 3×3: output pixels per invocation along a row (two vec4 accumulators). */
const PIXELS = 8;
/** 3×3: output rows per forward invocation. */
const FORWARD_ROWS = 4;
/** 3×3: input rows per stride-2 input-gradient invocation. */
const ROWS = 8;
/** 1×1: vec4 pixel groups of the flattened plane per forward invocation. */
const POINTWISE_GROUPS = 8;
/** 1×1: input channels per weight-gradient invocation. */
const POINTWISE_CHANNELS = 8;

function kernel(file: keyof typeof sources, entryPoint: string, bindings: Kernel['spec']['bindings']) {
  return new Kernel({ name: `conv2d_vec4.${entryPoint}`, source: sources[file], entryPoint, bindings, params: true, workgroupSize: [64] });
}

const packKernel = kernel('pack', 'pack_weights', ['read', 'write']);
const forward3x3Kernel = kernel('3x3', 'forward3x3', ['read', 'read', 'read', 'write', 'read']);
const inputGrad3x3S2Kernel = kernel('3x3', 'input_grad3x3_s2', ['read', 'read', 'write']);
const weightGrad3x3Kernel = kernel('3x3', 'weight_grad3x3', ['read', 'read', 'write', 'write']);
const forward1x1Kernel = kernel('1x1', 'forward1x1', ['read', 'read', 'read', 'write', 'read']);
const weightGrad1x1Kernel = kernel('1x1', 'weight_grad1x1', ['read', 'read', 'write', 'write']);
const sumSplitsKernel = kernel('pack', 'sum_splits', ['read', 'read', 'write', 'write']);

function is3x3(g: ConvGeometry): boolean {
  return (
    g.kernelH === 3 && g.kernelW === 3 && g.padH === 1 && g.padW === 1 &&
    g.strideH === g.strideW && (g.strideH === 1 || g.strideH === 2) &&
    g.inW % 4 === 0 && g.outW % 4 === 0
  );
}

function is1x1(g: ConvGeometry): boolean {
  return g.kernelH === 1 && g.kernelW === 1 && g.padH === 0 && g.padW === 0 && g.strideH === 1 && g.strideW === 1 && (g.inH * g.inW) % 4 === 0;
}

/** Whether this conv runs on conv2d_vec4.wgsl (else conv2d.wgsl's general kernels). */
export function convVec4Applies(g: ConvGeometry): boolean {
  return is3x3(g) || is1x1(g);
}

/**
 * Workgroup size, one for every launch (each size would be a pipeline of its
 * own to compile): 16, two SIMD rows of llvmpipe's 8 lanes. llvmpipe runs a
 * workgroup on one thread, so small dispatches need small workgroups to keep
 * every core busy; on large ones 16 measured as fast as 64.
 */
export const WORKGROUP = 16;

function run(kernel: Kernel, device: Operand['device'], buffers: Operand[], params: number[], invocations: number, constants: Record<string, number> = {}) {
  const size = WORKGROUP;
  launch(device, kernel.with({ workgroupSize: [size], constants }), {
    buffers: buffers.map((t) => t.range()),
    params,
    groups: groups1d(invocations, size),
  });
}

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** The sizes the kernels take; stride and padding are fixed per fast path. */
type Sizes = Pick<ConvGeometry, 'batch' | 'inChannels' | 'inH' | 'inW' | 'outChannels' | 'outH' | 'outW'>;

interface Layout {
  invocations: number;
  hasBias?: boolean;
  epilogue?: Epilogue;
  packed?: number;
  blocksC?: number;
  blocksH?: number;
  blocksW?: number;
  splits?: number;
  rowsPerSplit?: number;
  weights?: number;
  taps?: number;
}

/** Where `invocations` sits in params(): after the geometry and `packed`. */
const INVOCATIONS = GEOMETRY_WORDS + 1;

/** The Params struct of conv2d_vec4.wgsl, all 29 words. */
function params(s: Sizes, l: Layout): number[] {
  const e = l.epilogue ?? PLAIN;
  const { slope } = epilogueParams(e);
  return [
    ...geometryWords(s), l.packed ?? 0,
    l.invocations, l.blocksC ?? 0, l.blocksH ?? 0, l.blocksW ?? 0,
    l.splits ?? 0, l.rowsPerSplit ?? 0, l.weights ?? 0, l.taps ?? 0,
    Number(l.hasBias ?? false), Number(e.residual !== null), f32bits(slope), 0,
  ];
}

/** The weights repacked as [K][taps][G] for the forward (K = C, G = O↑8) or the input gradient (K = O, G = C↑8, flipped). */
function packWeights(w: Operand, g: ConvGeometry, forInputGrad: boolean): Scratch {
  const taps = g.kernelH * g.kernelW;
  const [k, packed] = forInputGrad ? [g.outChannels, roundUp(g.inChannels, CHANNELS)] : [g.inChannels, roundUp(g.outChannels, CHANNELS)];
  const out = new Scratch(w.device, [k * taps * packed]);
  const rows = k * taps;
  run(packKernel, w.device, [w, out], params(g, { packed, invocations: rows, taps }), rows, { INPUT_GRAD: Number(forInputGrad) });
  return out;
}

/** The forward kernel on these sizes (3×3: `stride`; 1×1: stride 1), with weights already packed. */
function forwardOn(x: Operand, packed: Operand, bias: Operand | null, y: Operand, s: Sizes, taps: number, stride: number, epilogue = PLAIN): void {
  const blocksC = Math.ceil(s.outChannels / CHANNELS);
  const layout = { packed: blocksC * CHANNELS, blocksC, hasBias: bias !== null, epilogue };
  const sigmoid: Record<string, number> = epilogueParams(epilogue).sigmoid ? { SIGMOID: 1 } : {};
  const constants = { STRIDE: stride, ...sigmoid };
  // Without a bias or residual the binding still needs a buffer; the kernel never reads it.
  const buffers = [x, packed, bias ?? packed, y, epilogue.residual ?? x];
  if (taps === 9) {
    const blocksH = Math.ceil(s.outH / FORWARD_ROWS);
    const blocksW = Math.ceil(s.outW / PIXELS);
    const invocations = s.batch * blocksC * blocksH * blocksW;
    run(forward3x3Kernel, x.device, buffers, params(s, { ...layout, invocations, blocksH, blocksW }), invocations, constants);
  } else {
    const blocksW = Math.ceil((s.outH * s.outW) / 4 / POINTWISE_GROUPS);
    const invocations = s.batch * blocksC * blocksW;
    run(forward1x1Kernel, x.device, buffers, params(s, { ...layout, invocations, blocksW }), invocations, sigmoid);
  }
}

/** y = act(conv2d(x, w) + bias + residual). */
export function convVec4Forward(x: Operand, w: Operand, bias: Operand | null, y: Operand, g: ConvGeometry, epilogue: Epilogue): void {
  const packed = packWeights(w, g, false);
  forwardOn(x, packed, bias, y, g, g.kernelH * g.kernelW, g.strideH, epilogue);
  packed.release();
}

/** dx given dy: for stride 1 the forward kernel on dy with the flipped, transposed kernel. */
export function convVec4InputGrad(dy: Operand, w: Operand, dx: Operand, g: ConvGeometry): void {
  const packed = packWeights(w, g, true);
  if (g.strideH === 1) {
    const sizes = { batch: g.batch, inChannels: g.outChannels, inH: g.outH, inW: g.outW, outChannels: g.inChannels, outH: g.inH, outW: g.inW };
    forwardOn(dy, packed, null, dx, sizes, g.kernelH * g.kernelW, 1);
  } else {
    const blocksC = Math.ceil(g.inChannels / CHANNELS);
    const blocksH = Math.ceil(g.inH / ROWS);
    const blocksW = Math.ceil(g.inW / PIXELS);
    const invocations = g.batch * blocksC * blocksH * blocksW;
    const layout = { packed: blocksC * CHANNELS, invocations, blocksC, blocksH, blocksW };
    run(inputGrad3x3S2Kernel, dy.device, [dy, packed, dx], params(g, layout), invocations);
  }
  packed.release();
}

/**
 * Weight-gradient invocations to aim for: a CPU adapter wants few (each
 * slice of the reduction costs its partial sums and a second pass; LMFN's
 * 64- and 50-channel 3×3s already have 52–64 channel-block invocations, 4+
 * workgroups for llvmpipe's threads, and splitting them measured ~3% slower
 * over a training step than not), a GPU many. Fewer steps per slice than
 * MIN_STEPS are never worth a slice.
 */
const WEIGHT_GRAD_INVOCATIONS = { cpu: 32, gpu: 16384 } as const;
const MIN_STEPS = 4;

/**
 * How the weight gradient's reduction (3×3: the N·Ho output rows; 1×1: the
 * pairs of pixel groups) is sliced, for `blocks` channel-block invocations per slice.
 */
export function weightGradSlices(steps: number, blocks: number, target: number): { splits: number; stepsPerSplit: number } {
  const { splits, chunk } = splitReduction(steps, { workgroups: blocks, target, minChunk: MIN_STEPS });
  return { splits, stepsPerSplit: chunk };
}

/** Output-channel quads and input channels per weight-gradient invocation (OQ and, for 3×3, CB in the WGSL: fixed, so one pipeline serves every layer). */
export function weightGradBlock(g: ConvGeometry): { quads: number; channels: number } {
  return { quads: 4, channels: g.kernelH === 1 ? POINTWISE_CHANNELS : 2 };
}

/** dw (and db, when given) from dy and x. */
export function convVec4WeightGrad(dy: Operand, x: Operand, dw: Operand, db: Operand | null, g: ConvGeometry): void {
  const device = dy.device;
  const pointwise = g.kernelH === 1;
  const { quads, channels } = weightGradBlock(g);
  const blocksO = Math.ceil(g.outChannels / (4 * quads));
  const blocksC = Math.ceil(g.inChannels / channels);
  const steps = pointwise ? g.batch * Math.ceil((g.outH * g.outW) / 8) : g.batch * g.outH;
  const { splits, stepsPerSplit } = weightGradSlices(steps, blocksO * blocksC, WEIGHT_GRAD_INVOCATIONS[device.description.kind]);
  const invocations = splits * blocksO * blocksC;
  const weights = dw.size;
  const partials = splits === 1 ? null : new Scratch(device, [weights * splits]);
  const partial = partials ?? dw;
  // Without a bias gradient the binding still needs a buffer of its own (two writable bindings may not alias).
  const biasScratch = db && splits === 1 ? null : new Scratch(device, [db ? g.outChannels * splits : 4]);
  const biasPartial = biasScratch ?? db!;
  const p = params(g, { invocations, blocksC: blocksO, blocksW: blocksC, splits, rowsPerSplit: stepsPerSplit, weights, hasBias: db !== null });
  const constants: Record<string, number> = pointwise ? {} : { STRIDE: g.strideH };
  run(pointwise ? weightGrad1x1Kernel : weightGrad3x3Kernel, device, [x, dy, partial, biasPartial], p, invocations, constants);
  if (splits > 1) {
    const total = weights + (db ? g.outChannels : 0);
    const scratch = db ? null : new Scratch(device, [4]);
    run(sumSplitsKernel, device, [partial, biasPartial, dw, db ?? scratch!], [...p.slice(0, INVOCATIONS), total, ...p.slice(INVOCATIONS + 1)], total);
    scratch?.release();
    partials?.release();
  }
  biasScratch?.release();
}
