// Launchers for kernels/conv2d_tiled.wgsl: conv2d forward (bias and activation
// fused), input gradient and weight gradient (split-K, bias gradient fused) as
// implicit GEMMs on workgroup-memory tiles, the conv family for discrete GPUs.
// Any geometry (kernel size, stride, padding). The tile plan comes from the
// adapter's limits and the split of the weight gradient from the shapes; both
// are pure functions, exported for tests.

import { MAX_WORKGROUPS_PER_DIMENSION, Kernel, f32bits, groups1d, launch, wgsl, splitReduction, type Operand, Scratch } from '../engine/kernel.ts';
import { epilogueParams, type Epilogue } from './epilogue.ts';
import { MIN_SPLIT_K, SPLIT_K_WORKGROUPS, TILE_PLANS, gemmGroups, planned, tilePlan, type TilePlan } from './gemm_tiles.ts';
import { geometryWords, type ConvGeometry } from './conv2d_geometry.ts';

const source = wgsl('conv2d_tiled.wgsl', 'conv2d_params.wgsl', 'epilogue.wgsl', 'gemm_tiles.wgsl');

const SUM_WG = 256;

function kernel(entryPoint: string, bindings: Kernel['spec']['bindings'], workgroupSize: [number, number?]) {
  return new Kernel({ name: `conv2d_tiled.${entryPoint}`, source, entryPoint, bindings, params: true, workgroupSize });
}

const tiled = TILE_PLANS[0].workgroup;
const forwardKernel = kernel('forward', ['read', 'read', 'read', 'write', 'read'], tiled);
const inputGradKernel = kernel('input_grad', ['read', 'read', 'write'], tiled);
const weightGradKernel = kernel('weight_grad', ['read', 'read', 'write'], tiled);
const sumSplitsKernel = kernel('sum_splits', ['read', 'write', 'write'], [SUM_WG]);

interface Gemm {
  m: number;
  n: number;
  k: number;
  chunk?: number;
  partialStride?: number;
  splits?: number;
  weights?: number;
  total?: number;
  phase?: InputGradPhase;
}

/** The Params struct of conv2d_tiled.wgsl: the geometry's 16 words, then 20 more (the forward's epilogue last). */
function params(g: ConvGeometry, s: Gemm, forward?: { bias: boolean; epilogue: Epilogue }): number[] {
  const p = s.phase;
  const e = forward && epilogueParams(forward.epilogue);
  return [
    ...geometryWords(g),
    s.m, s.n, s.k, s.chunk ?? 0, s.partialStride ?? 0, s.splits ?? 0, s.weights ?? 0, s.total ?? 0,
    p?.ry ?? 0, p?.rx ?? 0, p?.h0 ?? 0, p?.w0 ?? 0, p?.kh ?? 0, p?.kw ?? 0, p?.hp ?? 0, p?.wp ?? 0,
    Number(forward?.bias ?? false), Number(forward?.epilogue.residual != null), f32bits(e?.slope ?? 1), Number(e?.sigmoid ?? false),
  ];
}

/** y = act(conv2d(x, w) + bias + residual), bias may be null. `p`: another tile plan than the device's (tests). */
export function convTiledForward(
  x: Operand, w: Operand, bias: Operand | null, y: Operand, g: ConvGeometry, epilogue: Epilogue, p: TilePlan = tilePlan(x.device),
): void {
  const m = g.outChannels;
  const n = g.batch * g.outH * g.outW;
  const k = g.inChannels * g.kernelH * g.kernelW;
  launch(x.device, planned(forwardKernel, p), {
    // Without a bias or residual the binding still needs a buffer; the kernel never reads it.
    buffers: [x.range(), w.range(), (bias ?? w).range(), y.range(), (epilogue.residual ?? x).range()],
    params: params(g, { m, n, k }, { bias: bias !== null, epilogue }),
    groups: gemmGroups(p, m, n),
  });
}

/**
 * One stride phase of the input gradient: the dx rows h ≡ h0 (mod sH), of
 * which there are hp, are reached only by the kh taps ky ≡ ry (mod sH)
 * (h0 = (ry − pH) mod sH); likewise columns. Stride 1 is one phase of all taps.
 */
export interface InputGradPhase {
  ry: number;
  rx: number;
  h0: number;
  w0: number;
  kh: number;
  kw: number;
  hp: number;
  wp: number;
}

/** The phases of the input gradient that hold dx pixels (a phase without taps still zeroes its pixels). Pure. */
export function inputGradPhases(g: ConvGeometry): InputGradPhase[] {
  const axis = (r: number, stride: number, pad: number, kernel: number, size: number) => {
    const first = (((r - pad) % stride) + stride) % stride;
    return { first, taps: r < kernel ? Math.ceil((kernel - r) / stride) : 0, pixels: first < size ? Math.ceil((size - first) / stride) : 0 };
  };
  const phases: InputGradPhase[] = [];
  for (let ry = 0; ry < g.strideH; ry++) {
    const h = axis(ry, g.strideH, g.padH, g.kernelH, g.inH);
    for (let rx = 0; rx < g.strideW; rx++) {
      const w = axis(rx, g.strideW, g.padW, g.kernelW, g.inW);
      if (h.pixels && w.pixels) phases.push({ ry, rx, h0: h.first, w0: w.first, kh: h.taps, kw: w.taps, hp: h.pixels, wp: w.pixels });
    }
  }
  return phases;
}

/**
 * dx = the gradient of conv2d with respect to its input, given dy (any
 * stride): one launch per stride phase, so no work is spent on the taps that
 * fall between strided outputs (3 in 4 of them at stride 2).
 */
export function convTiledInputGrad(dy: Operand, w: Operand, dx: Operand, g: ConvGeometry, p: TilePlan = tilePlan(dy.device)): void {
  const m = g.inChannels;
  const kernel = planned(inputGradKernel, p);
  for (const phase of inputGradPhases(g)) {
    const n = g.batch * phase.hp * phase.wp;
    const k = g.outChannels * phase.kh * phase.kw;
    launch(dy.device, kernel, {
      buffers: [dy.range(), w.range(), dx.range()],
      params: params(g, { m, n, k, phase }),
      groups: gemmGroups(p, m, n),
    });
  }
}

/**
 * How the weight gradient's K (batch·Ho·Wo) is split for `tiles` tiles of C
 * (few: 64 output channels × 576 weight columns are 5 workgroups):
 * `splits` slices of `chunk` k each (a multiple of `tileK`; the last may be
 * shorter, none is empty). Pure.
 */
export function convTiledWeightGradSplits(k: number, tiles: number, tileK: number): { splits: number; chunk: number } {
  return splitReduction(k, {
    workgroups: tiles, target: SPLIT_K_WORKGROUPS, minChunk: MIN_SPLIT_K, multiple: tileK, maxSplits: MAX_WORKGROUPS_PER_DIMENSION,
  });
}

/**
 * dw [O,C,kH,kW] (and db [O] when given) = the gradients of conv2d with
 * respect to its weight and bias, given dy and x. Two dispatches: the split
 * GEMM into partial sums, then their sum.
 */
export function convTiledWeightGrad(
  dy: Operand, x: Operand, dw: Operand, db: Operand | null, g: ConvGeometry, p: TilePlan = tilePlan(dy.device),
): void {
  const device = dy.device;
  const m = g.outChannels;
  const n = g.inChannels * g.kernelH * g.kernelW;
  const k = g.batch * g.outH * g.outW;
  const tilesM = Math.ceil(m / p.tileM);
  const tilesN = Math.ceil(n / p.tileN);
  const { splits, chunk } = convTiledWeightGradSplits(k, tilesM * tilesN, p.tileK);
  const weights = m * n;
  const total = weights + (db ? m : 0);
  const partial = new Scratch(device, [splits * total]);
  const gemm = { m, n, k, chunk, partialStride: total, splits, weights, total };
  launch(device, planned(weightGradKernel, p, { HAS_BIAS: Number(db !== null) }), {
    buffers: [dy.range(), x.range(), partial.range()],
    params: params(g, gemm),
    groups: [tilesM, tilesN, splits],
  });
  // Without a bias gradient the binding still needs a buffer of its own (two writable bindings may not alias).
  const scratch = db ? null : new Scratch(device, [1]);
  launch(device, sumSplitsKernel, {
    buffers: [partial.range(), dw.range(), (db ?? scratch!).range()],
    params: params(g, gemm),
    groups: groups1d(total, SUM_WG),
  });
  scratch?.release();
  partial.release();
}
