// Bilinear resize of NCHW images (align_corners=False); its backward is a gather,
// one invocation per input element, since WGSL has no f32 atomics to scatter with.

import { record } from '../autograd.ts';
import { ShapeError, formatShape } from '../errors.ts';
import { Tensor, deviceOf } from '../tensor.ts';
import { imageShape } from './nchw.ts';
import * as Bilinear from '../../kernels/interpolate.ts';

/**
 * Bilinear resize to `size` = [height, width], as PyTorch's
 * F.interpolate(mode='bilinear', align_corners=False) (LMFN.md §7.2).
 */
export function interpolateBilinear(x: Tensor, size: readonly [number, number]): Tensor {
  const device = deviceOf('interpolateBilinear', x);
  const [n, c] = imageShape('interpolateBilinear', x);
  const [outH, outW] = size;
  if (!Number.isInteger(outH) || !Number.isInteger(outW) || outH < 1 || outW < 1) {
    throw new ShapeError(`interpolateBilinear: output size [${outH},${outW}] for input ${formatShape(x.shape)} must be positive integers`);
  }
  const out = Tensor.empty(device, [n, c, outH, outW]);
  Bilinear.bilinear(x, out);
  return record(out, 'interpolateBilinear', [x], (g) => {
    const dx = Tensor.empty(device, x.shape);
    Bilinear.bilinearBackward(g, dx);
    return [dx];
  });
}

/** Exact ×2 bilinear upsampling (align_corners=False). */
export function upsample2x(x: Tensor): Tensor {
  const [, , h, w] = imageShape('upsample2x', x);
  return interpolateBilinear(x, [2 * h, 2 * w]);
}
