// 2-D max-pool (no padding, floor mode); the backward routes each gradient to
// its window's argmax, as a gather (WGSL has no f32 atomics to scatter with).

import { record } from '../autograd.ts';
import { ShapeError, formatShape } from '../errors.ts';
import { Tensor, deviceOf } from '../tensor.ts';
import { imageShape, checkPositive } from './nchw.ts';
import * as Pool from '../../kernels/max_pool2d.ts';

/**
 * Max over k×k windows every `stride` pixels, no padding, floor mode:
 * out = floor((in − k)/stride) + 1. Ties go to the first maximum in
 * row-major window order, which is also where the gradient goes.
 */
export function maxPool2d(x: Tensor, kernel: number, stride: number): Tensor {
  const device = deviceOf('maxPool2d', x);
  const [n, c, h, w] = imageShape('maxPool2d', x);
  checkPositive('maxPool2d', 'kernel', kernel);
  checkPositive('maxPool2d', 'stride', stride);
  if (kernel > h || kernel > w) {
    throw new ShapeError(`maxPool2d: kernel ${kernel}×${kernel} is larger than input ${formatShape(x.shape)} (${h}×${w})`);
  }
  const outShape = [n, c, Math.floor((h - kernel) / stride) + 1, Math.floor((w - kernel) / stride) + 1];
  const out = Tensor.empty(device, outShape);
  const argmax = Tensor.empty(device, outShape);
  Pool.maxPool(x, out, argmax, kernel, stride);
  record(out, 'maxPool2d', [x], (g) => {
    const dx = Tensor.empty(device, x.shape);
    Pool.maxPoolBackward(argmax, g, dx, kernel, stride);
    return [dx];
  }, [argmax]);
  return out;
}
