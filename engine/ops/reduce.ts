// Sums and means over axes, and the broadcast-gradient reduction sumToShape.

import { record } from '../autograd.ts';
import { ShapeError, formatShape } from '../errors.ts';
import { Tensor, deviceOf, sameShape, sizeOf } from '../tensor.ts';
import { sumAxes } from '../../kernels/reduce.ts';
import { binary } from '../../kernels/elementwise.ts';

function normaliseAxes(op: string, x: Tensor, axes?: number | readonly number[]): number[] {
  if (axes === undefined) return x.shape.map((_, i) => i);
  const list = typeof axes === 'number' ? [axes] : [...axes];
  return list.map((a) => {
    const d = a < 0 ? a + x.rank : a;
    if (!Number.isInteger(d) || d < 0 || d >= x.rank) throw new ShapeError(`${op}: axis ${a} is out of range for ${formatShape(x.shape)}`);
    return d;
  });
}

function reduceOp(op: 'sum' | 'mean', x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const device = deviceOf(op, x);
  const dims = normaliseAxes(op, x, axes);
  const keptShape = x.shape.map((d, i) => (dims.includes(i) ? 1 : d));
  const outShape = keepDims ? keptShape : x.shape.filter((_, i) => !dims.includes(i));
  const count = x.size / Math.max(1, sizeOf(keptShape));
  const scale = op === 'mean' ? 1 / count : 1;
  const out = Tensor.empty(device, outShape.length ? outShape : [1]);
  sumAxes(x, dims, out, scale);
  return record(out, op, [x], (g) => [expandTo(g, keptShape, x.shape, scale)]);
}

/** Broadcasts `g` (with `keptShape`, 1 along reduced axes) back to `shape`, times `scale`. */
function expandTo(g: Tensor, keptShape: readonly number[], shape: readonly number[], scale: number): Tensor {
  const device = g.device;
  const out = Tensor.empty(device, shape);
  const strides: number[] = new Array(shape.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = keptShape[i] === 1 ? 0 : s;
    s *= keptShape[i];
  }
  const factor = Tensor.fromData(device, [scale], [1]);
  binary('mul', g, factor, out, strides, new Array(shape.length).fill(0));
  factor.dispose();
  return out;
}

/** Sum over all elements, or over `axes`. */
export const sum = (x: Tensor, axes?: number | readonly number[], keepDims = false) => reduceOp('sum', x, axes, keepDims);
/** Mean over all elements, or over `axes`. */
export const mean = (x: Tensor, axes?: number | readonly number[], keepDims = false) => reduceOp('mean', x, axes, keepDims);

/**
 * Sums `g` down to `shape`, the shape of an operand that was broadcast to
 * g's shape. Returns `g` itself when no reduction is needed.
 */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  if (g.size === sizeOf(shape)) return g.reshape(shape);
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  g.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  const out = Tensor.empty(g.device, shape);
  sumAxes(g, axes, out);
  return out;
}
