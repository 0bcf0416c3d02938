// Elementwise ops with NumPy/PyTorch broadcasting, and activations.
// Backward rules sit beside each forward; a broadcast operand's gradient is
// summed back to its own shape (sumToShape).

import { record } from '../autograd.ts';
import { ShapeError, formatShape } from '../errors.ts';
import { Tensor, deviceOf, sameShape } from '../tensor.ts';
import * as K from '../../kernels/elementwise.ts';
import { sumToShape } from './reduce.ts';

/** The broadcast result shape of `a` and `b`, aligned at the innermost axis. */
export function broadcastShape(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${op}: shapes ${formatShape(a)} and ${formatShape(b)} do not broadcast (axis ${i}: ${da} vs ${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  if (rank > K.MAX_BROADCAST_RANK) throw new ShapeError(`${op}: rank ${rank} is above ${K.MAX_BROADCAST_RANK}`);
  return out;
}

/** Element strides of `shape` as seen from `out` (0 along broadcast axes). */
function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const strides = new Array(out.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const j = out.length - shape.length + i;
    strides[j] = shape[i] === 1 ? 0 : s;
    s *= shape[i];
  }
  return strides;
}

function binaryOp(op: K.BinaryOp, a: Tensor | number, b: Tensor | number): Tensor {
  const device = deviceOf(op, ...[a, b].filter((t): t is Tensor => t instanceof Tensor));
  const ta = a instanceof Tensor ? a : scalar(device, a);
  const tb = b instanceof Tensor ? b : scalar(device, b);
  const shape = broadcastShape(op, ta.shape, tb.shape);
  const out = Tensor.empty(device, shape);
  if (sameShape(ta.shape, shape) && sameShape(tb.shape, shape)) K.binary(op, ta, tb, out);
  else K.binary(op, ta, tb, out, broadcastStrides(ta.shape, shape), broadcastStrides(tb.shape, shape));
  record(out, op, [ta, tb], (g) => {
    switch (op) {
      case 'add':
        return [sumToShape(g, ta.shape), sumToShape(g, tb.shape)];
      case 'sub':
        return [sumToShape(g, ta.shape), tb.requiresGrad ? sumToShape(neg(g), tb.shape) : null];
      case 'mul':
        return [ta.requiresGrad ? sumToShape(mul(g, tb), ta.shape) : null, tb.requiresGrad ? sumToShape(mul(g, ta), tb.shape) : null];
      case 'div': {
        const da = ta.requiresGrad ? sumToShape(div(g, tb), ta.shape) : null;
        // d(a/b)/db = −a/b² = −out/b
        const db = tb.requiresGrad ? sumToShape(neg(div(mul(g, out), tb)), tb.shape) : null;
        return [da, db];
      }
    }
  });
  // Scalars wrapped here are owned by the graph (or freed now if no graph).
  for (const [raw, t] of [[a, ta], [b, tb]] as const) if (!(raw instanceof Tensor) && !out.gradFn) t.dispose();
  return out;
}

function scalar(device: Tensor['device'], value: number): Tensor {
  return Tensor.fromData(device, [value], [1]);
}

export const add = (a: Tensor | number, b: Tensor | number) => binaryOp('add', a, b);
export const sub = (a: Tensor | number, b: Tensor | number) => binaryOp('sub', a, b);
export const mul = (a: Tensor | number, b: Tensor | number) => binaryOp('mul', a, b);
export const div = (a: Tensor | number, b: Tensor | number) => binaryOp('div', a, b);

/** `saveOutput`: the backward rule needs the output (sigmoid) rather than the input. */
function unaryOp(op: K.UnaryOp, x: Tensor, a = 0, b = 0): Tensor {
  const device = deviceOf(op, x);
  const out = Tensor.empty(device, x.shape);
  K.unary(op, x, out, a, b);
  return record(out, op, [x], (g) => {
    const dx = Tensor.empty(device, x.shape);
    K.unaryBackward(op, op === 'sigmoid' ? out : x, g, dx, a);
    return [dx];
  });
}

export const relu = (x: Tensor) => unaryOp('relu', x);
/** max(x, 0) + slope·min(x, 0) */
export const leakyRelu = (x: Tensor, slope: number) => unaryOp('leakyRelu', x, slope);
export const sigmoid = (x: Tensor) => unaryOp('sigmoid', x);
export const square = (x: Tensor) => unaryOp('square', x);
/** a·x + b with constants a, b. */
export const affine = (x: Tensor, a: number, b = 0) => unaryOp('affine', x, a, b);
export const neg = (x: Tensor) => unaryOp('affine', x, -1, 0);

/** A tensor of `shape` filled with `value`. */
export function full(device: Tensor['device'], shape: readonly number[], value: number): Tensor {
  const t = Tensor.empty(device, shape);
  K.fill(t, value);
  return t;
}
export const zeros = (device: Tensor['device'], shape: readonly number[]) => full(device, shape, 0);
export const ones = (device: Tensor['device'], shape: readonly number[]) => full(device, shape, 1);

/** A copy with its own buffer (differentiable). */
export function clone(x: Tensor): Tensor {
  return affine(x, 1, 0);
}
