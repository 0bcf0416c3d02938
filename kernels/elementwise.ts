// Launchers for kernels/elementwise.wgsl: one invocation per 4 output
// elements (per element for broadcasting binary ops).

import { Kernel, f32bits, groups1d, launch, wgsl, type BufferRange, type Operand } from '../engine/kernel.ts';

const source = wgsl('elementwise.wgsl');
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
/** Indexed [BROADCAST][OP]; BROADCAST 0 (same shapes) is the vec4 entry point. */
const binaryKernels = [0, 1, 2, 3].map((BROADCAST) =>
  Object.values(BINARY).map((OP) => kernel(BROADCAST === 0 ? 'binary_vec4' : 'binary', ['read', 'read', 'write'], { OP, BROADCAST })),
);

/**
 * A tensor's range rounded up to whole vec4s for the vec4 entry points. Stays
 * inside the buffer: offsets are 16-byte aligned and pool buffers (and arena
 * slices) are sized in whole vec4s.
 */
function vec4Range(t: Operand): BufferRange {
  const r = t.range();
  return { ...r, size: Math.ceil(r.size / 16) * 16 };
}

/** Workgroups for n elements, 4 per invocation. */
const quads = (n: number) => groups1d(Math.ceil(n / 4), WG);

export const MAX_BROADCAST_RANK = 8;

export function fill(out: Operand, value: number): void {
  launch(out.device, fillKernel, { buffers: [vec4Range(out)], params: [out.size, f32bits(value)], groups: quads(out.size) });
}

/** `a`, `b`: the op's constants (leakyRelu slope in a; affine a·x + b). */
export function unary(op: UnaryOp, x: Operand, y: Operand, a = 0, b = 0): void {
  launch(x.device, unaryKernels[UNARY[op]], {
    buffers: [vec4Range(x), vec4Range(y)],
    params: [x.size, f32bits(a), f32bits(b)],
    groups: quads(x.size),
  });
}

/** `saved` is the forward input, or the forward output for sigmoid. */
export function unaryBackward(op: UnaryOp, saved: Operand, dy: Operand, dx: Operand, a = 0): void {
  launch(dy.device, unaryBackwardKernels[UNARY[op]], {
    buffers: [vec4Range(saved), vec4Range(dy), vec4Range(dx)],
    params: [dy.size, f32bits(a), 0],
    groups: quads(dy.size),
  });
}

/**
 * How an operand with element `strides` (0 along broadcast axes) is read
 * for an output of `shape`: as a contiguous block of axes [first, last)
 * repeated, index (i / inner) % count; null if its strides are not of that form.
 */
export function blockBroadcast(shape: readonly number[], strides: readonly number[]): { inner: number; count: number } | null {
  const live = shape.map((d, i) => d !== 1 && strides[i] !== 0);
  const first = live.indexOf(true);
  if (first < 0) return { inner: 1, count: 1 };
  const last = live.lastIndexOf(true) + 1;
  let expected = 1;
  for (let i = last - 1; i >= first; i--) {
    if (shape[i] !== 1 && strides[i] !== expected) return null;
    expected *= shape[i];
  }
  let inner = 1;
  for (let i = last; i < shape.length; i++) inner *= shape[i];
  return { inner, count: expected };
}

/**
 * out = a (op) b. `strideA`/`strideB` are element strides per output axis
 * (0 where that operand is broadcast); omit both when all shapes are equal.
 */
export function binary(op: BinaryOp, a: Operand, b: Operand, out: Operand, strideA?: number[], strideB?: number[]): void {
  let mode = 0;
  let block = { inner: 1, count: 1 };
  if (strideA !== undefined && strideB !== undefined) {
    mode = 1;
    const blockA = blockBroadcast(out.shape, strideA);
    const blockB = blockBroadcast(out.shape, strideB);
    if (a.size === out.size && blockB) [mode, block] = [2, blockB];
    else if (b.size === out.size && blockA) [mode, block] = [3, blockA];
  }
  const pad = (v: readonly number[] = []) => [...v, ...new Array(MAX_BROADCAST_RANK - v.length).fill(0)];
  // The uniform struct is always full size: n, rank, the block, then three vec4u[2] arrays.
  const params = [out.size, out.shape.length, block.inner, block.count, ...pad(out.shape), ...pad(strideA), ...pad(strideB)];
  const range = mode === 0 ? vec4Range : (t: Operand) => t.range();
  launch(out.device, binaryKernels[mode][BINARY[op]], {
    buffers: [range(a), range(b), range(out)],
    params,
    groups: mode === 0 ? quads(out.size) : groups1d(out.size, WG),
  });
}

/** Most pairs one accumulateMany dispatch takes (8 source bindings, 10 storage buffers per stage being the common limit). */
export const ACCUMULATE_MANY = 8;
const accumulateManyKernel = new Kernel({
  name: 'elementwise.accumulate_many',
  source,
  entryPoint: 'accumulate_many',
  bindings: ['readwrite', ...new Array<'read'>(ACCUMULATE_MANY).fill('read')],
  params: true,
  workgroupSize: [WG],
});

/**
 * dst_j += src_j for up to ACCUMULATE_MANY pairs whose destinations are views
 * of one buffer, each starting on a 16-byte boundary (the optimizer's
 * gradient arena), in one dispatch; one dispatch per pair otherwise.
 */
export function accumulateMany(pairs: readonly (readonly [Operand, Operand])[]): void {
  if (pairs.length === 0) return;
  const device = pairs[0][0].device;
  const limits = device.limits;
  const dsts = pairs.map(([dst]) => dst.range());
  const buf = dsts[0].buf;
  const begin = Math.min(...dsts.map((r) => r.offset));
  const end = Math.max(...dsts.map((r) => r.offset + Math.ceil(r.size / 16) * 16));
  const batchable =
    pairs.length > 1 && pairs.length <= ACCUMULATE_MANY &&
    pairs.every(([dst, src], j) => dsts[j].buf === buf && src.range().buf !== buf && dsts[j].offset % 16 === 0 && dst.size === src.size) &&
    begin % limits.minStorageBufferOffsetAlignment === 0 && end <= buf.byteSize && end - begin <= limits.maxStorageBufferBindingSize &&
    limits.maxStorageBuffersPerShaderStage > ACCUMULATE_MANY;
  if (!batchable) {
    for (const [dst, src] of pairs) accumulate(dst, src);
    return;
  }
  const pad = (v: number[], fill: number) => [...v, ...new Array(ACCUMULATE_MANY - v.length).fill(fill)];
  const at = dsts.map((r) => (r.offset - begin) / 16);
  const n = pairs.map(([dst]) => dst.size);
  // Pair j's vec4s come at first[j]..; unused slots start past the end, so no invocation picks them.
  const first: number[] = [];
  let total = 0;
  for (const count of n) {
    first.push(total);
    total += Math.ceil(count / 4);
  }
  const sources = pairs.map(([, src]) => vec4Range(src));
  // Unused source bindings repeat the first source; no invocation reads them.
  while (sources.length < ACCUMULATE_MANY) sources.push(sources[0]);
  launch(device, accumulateManyKernel, {
    buffers: [{ buf, offset: begin, size: end - begin }, ...sources],
    params: [...pad(first, total), ...pad(at, 0), ...pad(n, 0), total, 0, 0, 0],
    groups: groups1d(total, WG),
  });
}

/** dst += src, elementwise, same size. */
export function accumulate(dst: Operand, src: Operand): void {
  launch(dst.device, accumulateKernel, { buffers: [vec4Range(dst), vec4Range(src)], params: [dst.size], groups: quads(dst.size) });
}
