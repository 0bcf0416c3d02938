// The conv2d entry points, and the launchers for kernels/conv2d.wgsl:
// forward, input gradient, and the weight gradient as a split reduction over
// N·Ho·Wo (slices, then a second pass that adds them up). The choices (block
// sizes, slice counts) are pure functions of the shapes, exported for tests.
//
// Two conv families, chosen per device by `kernelFamily` (family.ts):
// 'tiled' (conv2d_tiled.wgsl, implicit GEMMs on workgroup-memory tiles, for
// GPUs) and 'direct' (conv2d_vec4.wgsl's register-blocked fast paths, else
// conv2d.wgsl; tuned for llvmpipe).

import type { Device } from '../engine/device.ts';
import { Kernel, groups1d, launch, wgsl, splitReduction, type Operand, Scratch } from '../engine/kernel.ts';
import { convTiledForward, convTiledInputGrad, convTiledWeightGrad } from './conv2d_tiled.ts';
import { geometryWords, type ConvGeometry } from './conv2d_geometry.ts';
import { kernelFamily } from './family.ts';
import { sumAxes } from './reduce.ts';
import { PLAIN, epilogueConstants, type Epilogue } from './epilogue.ts';
import { convVec4Applies, convVec4Forward, convVec4InputGrad, convVec4WeightGrad } from './conv2d_vec4.ts';

export type { ConvGeometry } from './conv2d_geometry.ts';

const source = wgsl('conv2d.wgsl', 'conv2d_params.wgsl', 'epilogue.wgsl');
const WG = 64;
/** Pixels (weight_grad: weight columns) per group: the lanes of a vec4 accumulator (PIX in the WGSL). */
const PIX = 4;
/**
 * Most channels per invocation (MAX_BLOCK in the WGSL). On llvmpipe 8 beats 4
 * by ~25% (each loaded pixel feeds twice the multiply-adds); the accumulators
 * are named variables, not an array, which Mesa would keep in memory.
 */
const MAX_BLOCK = 8;

function kernel(entryPoint: string, bindings: Kernel['spec']['bindings']) {
  return new Kernel({ name: `conv2d.${entryPoint}`, source, entryPoint, bindings, params: true, workgroupSize: [WG], constants: { BLOCK: MAX_BLOCK, GROUPS: 2 } });
}

const forwardKernel = kernel('forward', ['read', 'read', 'read', 'write', 'read']);
const inputGradKernel = kernel('input_grad', ['read', 'read', 'write']);
const weightGradKernel = kernel('weight_grad', ['read', 'read', 'write']);
const sumSplitsKernel = kernel('sum_splits', ['read', 'write']);


/**
 * Channels per invocation: as few blocks as MAX_BLOCK allows, evened out so
 * the last block is not mostly padding (25 channels: 4 blocks of 7, not 8+8+8+1;
 * one channel: a block of 1, not 1 used lane in 8).
 */
export function blockFor(channels: number): number {
  return Math.ceil(channels / Math.ceil(channels / MAX_BLOCK));
}

/**
 * Groups of PIX pixels (or columns) per invocation, 1 or 2 (GROUPS in the
 * WGSL): 2 feeds each loaded weight to twice the pixels, unless rounding a
 * short row up to 8 wastes much more than rounding it up to 4 (9 → 16 vs 12).
 */
export function groupsFor(extent: number): number {
  return Math.ceil(extent / 8) * 8 <= 1.25 * Math.ceil(extent / 4) * 4 ? 2 : 1;
}

/** The ConvParams struct of conv2d.wgsl, all 20 words. */
function params(
  g: ConvGeometry,
  layout: { invocations: number; blocksC: number; blocksW: number; blocksPerPhase?: number; splits?: number; chunk?: number; columns?: number },
): number[] {
  return [
    ...geometryWords(g), layout.invocations, layout.blocksC, layout.blocksW,
    layout.blocksPerPhase ?? 0, layout.splits ?? 0, layout.chunk ?? 0, layout.columns ?? 0,
  ];
}

/** y = act(conv2d(x, w) + bias + residual) (bias may be null; `epilogue` says what is fused). */
export function conv2dForward(x: Operand, w: Operand, bias: Operand | null, y: Operand, g: ConvGeometry, epilogue: Epilogue = PLAIN): void {
  if (kernelFamily(x.device) === 'tiled') return convTiledForward(x, w, bias, y, g, epilogue);
  if (convVec4Applies(g)) return convVec4Forward(x, w, bias, y, g, epilogue);
  const block = blockFor(g.outChannels);
  const blocksC = Math.ceil(g.outChannels / block);
  const groups = groupsFor(g.outW);
  const blocksW = Math.ceil(g.outW / (PIX * groups));
  const invocations = g.batch * blocksC * g.outH * blocksW;
  const k = forwardKernel.with({ constants: { BLOCK: block, GROUPS: groups, HAS_BIAS: bias ? 1 : 0, ...epilogueConstants(epilogue) } });
  launch(x.device, k, {
    // Without a bias or residual the binding still needs a buffer; the kernel never reads it.
    buffers: [x.range(), w.range(), (bias ?? w).range(), y.range(), (epilogue.residual ?? x).range()],
    params: params(g, { invocations, blocksC, blocksW }),
    groups: groups1d(invocations, WG),
  });
}

/** dx = the gradient of conv2d with respect to its input, given dy. */
export function conv2dInputGrad(dy: Operand, w: Operand, dx: Operand, g: ConvGeometry): void {
  if (kernelFamily(dy.device) === 'tiled') return convTiledInputGrad(dy, w, dx, g);
  if (convVec4Applies(g)) return convVec4InputGrad(dy, w, dx, g);
  const block = blockFor(g.inChannels);
  const blocksC = Math.ceil(g.inChannels / block);
  const perPhase = Math.ceil(g.inW / g.strideW);
  const groups = groupsFor(perPhase);
  const blocksPerPhase = Math.ceil(perPhase / (PIX * groups));
  const blocksW = g.strideW * blocksPerPhase;
  const invocations = g.batch * blocksC * g.inH * blocksW;
  launch(dy.device, inputGradKernel.with({ constants: { BLOCK: block, GROUPS: groups } }), {
    buffers: [dy.range(), w.range(), dx.range()],
    params: params(g, { invocations, blocksC, blocksW, blocksPerPhase }),
    groups: groups1d(invocations, WG),
  });
}

/** Enough invocations to fill a GPU; fewer would leave it idle on the long N·Ho·Wo reductions. */
const WEIGHT_GRAD_INVOCATIONS = 16384;
/** Below this many pixels per slice the second pass costs more than the split saves. */
const MIN_CHUNK = 256;

/** Up to this many slices per weight the second pass is one thread per weight. */
const SUM_SPLITS_SERIAL = 64;

/** How the N·Ho·Wo reduction of the weight gradient is sliced: pure, for tests and tuning. */
export function weightGradSplits(pixels: number, blocks: number): { splits: number; chunk: number } {
  return splitReduction(pixels, { workgroups: blocks, target: WEIGHT_GRAD_INVOCATIONS, minChunk: MIN_CHUNK });
}

/** Whether conv2dWeightGrad also computes the bias gradient (in the same pass over dy). */
export function biasGradFused(device: Device, g: ConvGeometry): boolean {
  return kernelFamily(device) === 'tiled' || convVec4Applies(g);
}

/**
 * dw = the gradient of conv2d with respect to its weight [O,C,kH,kW], given
 * dy; also db when `biasGradFused(device, g)` (pass null otherwise).
 */
export function conv2dWeightGrad(dy: Operand, x: Operand, dw: Operand, g: ConvGeometry, db: Operand | null = null): void {
  if (kernelFamily(dy.device) === 'tiled') return convTiledWeightGrad(dy, x, dw, db, g);
  if (convVec4Applies(g)) return convVec4WeightGrad(dy, x, dw, db, g);
  const block = blockFor(g.outChannels);
  const columns = g.inChannels * g.kernelH * g.kernelW;
  const blocksC = Math.ceil(g.outChannels / block);
  const groups = groupsFor(columns);
  const blocksW = Math.ceil(columns / (PIX * groups));
  const { splits, chunk } = weightGradSplits(g.batch * g.outH * g.outW, blocksC * blocksW);
  const invocations = splits * blocksC * blocksW;
  const partials = splits === 1 ? null : new Scratch(dw.device, [g.outChannels * columns, splits]);
  const partial = partials ?? dw;
  launch(dy.device, weightGradKernel.with({ constants: { BLOCK: block, GROUPS: groups } }), {
    buffers: [dy.range(), x.range(), partial.range()],
    params: params(g, { invocations, blocksC, blocksW, splits, chunk, columns }),
    groups: groups1d(invocations, WG),
  });
  if (!partials) return;
  const weights = dw.size;
  // One thread per weight is cheapest for a few slices; reduce.sumAxes also
  // splits each weight's sum across a workgroup, which pays for itself only
  // when there are many slices (few-weight filters), and costs a workgroup per
  // weight (a barrier tree on llvmpipe) otherwise.
  if (splits <= SUM_SPLITS_SERIAL) {
    launch(dy.device, sumSplitsKernel, {
      buffers: [partial.range(), dw.range()],
      params: params(g, { invocations: weights, blocksC: 0, blocksW: 0, splits, chunk, columns }),
      groups: groups1d(weights, WG),
    });
  } else {
    sumAxes(partial, [1], dw);
  }
  partials.release();
}
