// Argument checks shared by the ops on NCHW images (pixel shuffle, interpolate, max-pool, pad).

import { ShapeError, formatShape } from '../errors.ts';
import type { Tensor } from '../tensor.ts';

export type Nchw = [n: number, c: number, h: number, w: number];

export function imageShape(op: string, x: Tensor): Nchw {
  if (x.rank !== 4) throw new ShapeError(`${op}: expects an NCHW tensor, got ${formatShape(x.shape)}`);
  return x.shape as Nchw;
}

export function checkPositive(op: string, what: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new ShapeError(`${op}: ${what} must be a positive integer, got ${value}`);
}
