// Launchers for kernels/cat.wgsl: block copies along one axis of tensors
// viewed as [outer, extent, inner], for cat and slice.

import { Kernel, groups1d, launch, wgsl, type Operand } from '../engine/kernel.ts';

const source = wgsl('cat.wgsl');
const WG = 256;

function kernel(entryPoint: string): Kernel {
  return new Kernel({ name: `cat.${entryPoint}`, source, entryPoint, bindings: ['read', 'write'], params: true, workgroupSize: [WG] });
}
const copyKernel = kernel('copy_block');
const embedKernel = kernel('embed_block');

/** `count` indices of the axis, from `srcStart` in src to `dstStart` in dst. */
export interface Block {
  outer: number;
  inner: number;
  count: number;
  srcExtent: number;
  srcStart: number;
  dstExtent: number;
  dstStart: number;
}

function params(invocations: number, b: Block): number[] {
  return [invocations, b.count, b.inner, b.srcExtent, b.srcStart, b.dstExtent, b.dstStart];
}

/** Copies the block from src into dst; the rest of dst is left as it is. */
export function copyBlock(src: Operand, dst: Operand, block: Block): void {
  const n = block.outer * block.count * block.inner;
  launch(src.device, copyKernel, { buffers: [src.range(), dst.range()], params: params(n, block), groups: groups1d(n, WG) });
}

/** Writes all of dst: the block from src, zeros elsewhere. */
export function embedBlock(src: Operand, dst: Operand, block: Block): void {
  launch(src.device, embedKernel, { buffers: [src.range(), dst.range()], params: params(dst.size, block), groups: groups1d(dst.size, WG) });
}
