// Pixel shuffle and unshuffle (depth-to-space and back), each the other's backward.

import { record } from '../autograd.ts';
import { ShapeError, formatShape } from '../errors.ts';
import { Tensor, deviceOf } from '../tensor.ts';
import { imageShape, checkPositive } from './nchw.ts';
import * as Shuffle from '../../kernels/pixel_shuffle.ts';

/** [N, C·r², H, W] → [N, C, H·r, W·r] with out[c, r·h+i, r·w+j] = x[r²·c + r·i + j, h, w] (PyTorch). */
export function pixelShuffle(x: Tensor, r: number): Tensor {
  const device = deviceOf('pixelShuffle', x);
  const [n, c, h, w] = imageShape('pixelShuffle', x);
  checkPositive('pixelShuffle', 'upscale factor r', r);
  if (c % (r * r) !== 0) {
    throw new ShapeError(`pixelShuffle: input ${formatShape(x.shape)} has ${c} channels, not divisible by r² = ${r * r}`);
  }
  const out = Tensor.empty(device, [n, c / (r * r), h * r, w * r]);
  Shuffle.pixelShuffle(x, out, r);
  return record(out, 'pixelShuffle', [x], (g) => [pixelUnshuffle(g, r)]);
}

/** [N, C, H·r, W·r] → [N, C·r², H, W], the inverse of pixelShuffle. */
export function pixelUnshuffle(x: Tensor, r: number): Tensor {
  const device = deviceOf('pixelUnshuffle', x);
  const [n, c, h, w] = imageShape('pixelUnshuffle', x);
  checkPositive('pixelUnshuffle', 'downscale factor r', r);
  if (h % r !== 0 || w % r !== 0) {
    throw new ShapeError(`pixelUnshuffle: input ${formatShape(x.shape)} has size ${h}×${w}, not divisible by r = ${r}`);
  }
  const out = Tensor.empty(device, [n, c * r * r, h / r, w / r]);
  Shuffle.pixelUnshuffle(x, out, r);
  return record(out, 'pixelUnshuffle', [x], (g) => [pixelShuffle(g, r)]);
}
