// cat and slice along any axis. Both move [outer, extent, inner]
// blocks (see kernels/cat.wgsl); each one's backward is the other.

import { record } from '../autograd.ts';
import { ShapeError, formatShape } from '../errors.ts';
import { Tensor, deviceOf, sizeOf } from '../tensor.ts';
import { copyBlock, embedBlock } from '../../kernels/cat.ts';

/** A dim of `shape` counted from the front, accepting negative dims from the back. */
function normaliseDim(op: string, shape: readonly number[], dim: number): number {
  const d = dim < 0 ? dim + shape.length : dim;
  if (!Number.isInteger(d) || d < 0 || d >= shape.length) {
    throw new ShapeError(`${op}: dim ${dim} is out of range for ${formatShape(shape)}`);
  }
  return d;
}

/** Elements before and after axis `d`, as a [outer, extent, inner] view. */
function around(shape: readonly number[], d: number): { outer: number; inner: number } {
  return { outer: sizeOf(shape.slice(0, d)), inner: sizeOf(shape.slice(d + 1)) };
}

/** Concatenates `tensors` along `dim` (negative counts from the back); all other dims must match. */
export function cat(tensors: readonly Tensor[], dim = 1): Tensor {
  if (tensors.length === 0) throw new ShapeError('cat: needs at least one tensor');
  const device = deviceOf('cat', ...tensors);
  const first = tensors[0].shape;
  const d = normaliseDim('cat', first, dim);
  for (const t of tensors) {
    if (t.rank !== first.length) {
      throw new ShapeError(`cat: tensors ${formatShape(first)} and ${formatShape(t.shape)} have different ranks`);
    }
    const mismatch = t.shape.findIndex((e, i) => i !== d && e !== first[i]);
    if (mismatch >= 0) {
      throw new ShapeError(`cat: tensors ${formatShape(first)} and ${formatShape(t.shape)} differ in dim ${mismatch} (cat dim is ${d})`);
    }
  }
  const { outer, inner } = around(first, d);
  const total = tensors.reduce((s, t) => s + t.shape[d], 0);
  const out = Tensor.empty(device, first.map((e, i) => (i === d ? total : e)));
  const starts: number[] = [];
  let start = 0;
  for (const t of tensors) {
    const count = t.shape[d];
    starts.push(start);
    copyBlock(t, out, { outer, inner, count, srcExtent: count, srcStart: 0, dstExtent: total, dstStart: start });
    start += count;
  }
  return record(out, 'cat', tensors, (g) =>
    tensors.map((t, k) => {
      if (!t.requiresGrad) return null;
      const count = t.shape[d];
      const dt = Tensor.empty(device, t.shape);
      copyBlock(g, dt, { outer, inner, count, srcExtent: total, srcStart: starts[k], dstExtent: count, dstStart: 0 });
      return dt;
    }),
  );
}

/** Indices [start, end) of `dim` (negative counts from the back), as a new tensor. */
export function slice(x: Tensor, dim: number, start: number, end: number): Tensor {
  const device = deviceOf('slice', x);
  const d = normaliseDim('slice', x.shape, dim);
  const extent = x.shape[d];
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || start > end || end > extent) {
    throw new ShapeError(`slice: range [${start}, ${end}) is out of range for dim ${d} (extent ${extent}) of ${formatShape(x.shape)}`);
  }
  const { outer, inner } = around(x.shape, d);
  const count = end - start;
  const out = Tensor.empty(device, x.shape.map((e, i) => (i === d ? count : e)));
  copyBlock(x, out, { outer, inner, count, srcExtent: extent, srcStart: start, dstExtent: count, dstStart: 0 });
  return record(out, 'slice', [x], (g) => {
    const dx = Tensor.empty(device, x.shape);
    embedBlock(g, dx, { outer, inner, count, srcExtent: count, srcStart: 0, dstExtent: extent, dstStart: start });
    return [dx];
  });
}
