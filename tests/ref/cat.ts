// Float64 CPU references for cat and slice along any axis (torch.cat, Tensor.narrow).

import { size } from './nchw.ts';

/** Multi-index ↔ linear index helpers for the any-rank references below. */
function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}
function ravel(idx: readonly number[], shape: readonly number[]): number {
  let i = 0;
  for (let d = 0; d < shape.length; d++) i = i * shape[d] + idx[d];
  return i;
}

/** torch.cat(xs, dim) for any rank; `dim` is already non-negative. */
export function catRef(xs: Float64Array[], shapes: number[][], dim: number): Float64Array {
  const outShape = [...shapes[0]];
  outShape[dim] = shapes.reduce((s, sh) => s + sh[dim], 0);
  const out = new Float64Array(size(outShape));
  let offset = 0;
  xs.forEach((x, k) => {
    for (let i = 0; i < x.length; i++) {
      const idx = unravel(i, shapes[k]);
      idx[dim] += offset;
      out[ravel(idx, outShape)] = x[i];
    }
    offset += shapes[k][dim];
  });
  return out;
}

/** x.narrow(dim, start, end − start) for any rank; `dim` is already non-negative. */
export function sliceRef(x: Float64Array, shape: number[], dim: number, start: number, end: number): Float64Array {
  const outShape = [...shape];
  outShape[dim] = end - start;
  const out = new Float64Array(size(outShape));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, outShape);
    idx[dim] += start;
    out[i] = x[ravel(idx, shape)];
  }
  return out;
}
