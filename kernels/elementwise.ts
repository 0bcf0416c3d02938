// Launchers for kernels/elementwise.wgsl: one invocation per output element.

import { Kernel, f32bits, groups1d, launch, wgsl } from '../engine/kernel.ts';
import type { Tensor } from '../engine/tensor.ts';

const source = wgsl(import.meta.url, 'elementwise.wgsl');
const WG = 256;

function kernel(entryPoint: string, bindings: Kernel['spec']['bindings'], constants?: Record<string, number>) {
  return new Kernel({ name: `elementwise.${entryPoint}`, source, entryPoint, bindings, params: true, workgroupSize: [WG], constants });
}

export const UNARY = { relu: 0, leakyRelu: 1, sigmoid: 2, affine: 3, square: 4 } as const;
export type UnaryOp = keyof typeof UNARY;
export const BINARY = { add: 0, sub: 1, mul: 2, div: 3 } as const;
export type BinaryOp = keyof typeof BINARY;

const fillKernel = kernel('fill', ['write']);
const accumulateKernel = kernel('accumulate', ['readwrite', 'read']);
const unaryKernels = Object.values(UNARY).map((OP) => kernel('unary', ['read', 'write'], { OP }));
const unaryBackwardKernels = Object.values(UNARY).map((OP) => kernel('unary_backward', ['read', 'read', 'write'], { OP }));
const binaryKernels = [0, 1].map((BROADCAST) =>
  Object.values(BINARY).map((OP) => kernel('binary', ['read', 'read', 'write'], { OP, BROADCAST })),
);

export const MAX_BROADCAST_RANK = 8;

export function fill(out: Tensor, value: number): void {
  launch(out.device, fillKernel, { buffers: [out.range()], params: [out.size, f32bits(value)], groups: groups1d(out.size, WG) });
}

/** `a`, `b`: the op's constants (leakyRelu slope in a; affine a·x + b). */
export function unary(op: UnaryOp, x: Tensor, y: Tensor, a = 0, b = 0): void {
  launch(x.device, unaryKernels[UNARY[op]], {
    buffers: [x.range(), y.range()],
    params: [x.size, f32bits(a), f32bits(b)],
    groups: groups1d(x.size, WG),
  });
}

/** `saved` is the forward input, or the forward output for sigmoid. */
export function unaryBackward(op: UnaryOp, saved: Tensor, dy: Tensor, dx: Tensor, a = 0): void {
  launch(dy.device, unaryBackwardKernels[UNARY[op]], {
    buffers: [saved.range(), dy.range(), dx.range()],
    params: [dy.size, f32bits(a), 0],
    groups: groups1d(dy.size, WG),
  });
}

/**
 * out = a (op) b. `strideA`/`strideB` are element strides per output axis
 * (0 where that operand is broadcast); omit both when all shapes are equal.
 */
export function binary(op: BinaryOp, a: Tensor, b: Tensor, out: Tensor, strideA?: number[], strideB?: number[]): void {
  const broadcast = strideA !== undefined;
  const pad = (v: readonly number[] = []) => [...v, ...new Array(MAX_BROADCAST_RANK - v.length).fill(0)];
  // The uniform struct is always full size: n, rank, 2 words of padding, then three vec4u[2] arrays.
  const params = [out.size, out.rank, 0, 0, ...pad(out.shape), ...pad(strideA), ...pad(strideB)];
  launch(out.device, binaryKernels[broadcast ? 1 : 0][BINARY[op]], {
    buffers: [a.range(), b.range(), out.range()],
    params,
    groups: groups1d(out.size, WG),
  });
}

/** dst += src, elementwise, same size. */
export function accumulate(dst: Tensor, src: Tensor): void {
  launch(dst.device, accumulateKernel, { buffers: [dst.range(), src.range()], params: [dst.size], groups: groups1d(dst.size, WG) });
}
