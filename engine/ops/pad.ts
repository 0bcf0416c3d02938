// Replicate padding and cropping of NCHW images: both are windows of each plane
// (kernels/pad.wgsl), and crop's backward is a zero-padded window.

import { record } from '../autograd.ts';
import { ShapeError, formatShape } from '../errors.ts';
import { Tensor, deviceOf } from '../tensor.ts';
import { imageShape } from './nchw.ts';
import * as Pad from '../../kernels/pad.ts';

/**
 * Pads the border by repeating the edge pixels; `pad` = [left, right, top,
 * bottom] as in PyTorch's F.pad(mode='replicate').
 */
export function padReplicate(x: Tensor, pad: readonly [left: number, right: number, top: number, bottom: number]): Tensor {
  const device = deviceOf('padReplicate', x);
  const [n, c, h, w] = imageShape('padReplicate', x);
  if (pad.length !== 4 || pad.some((p) => !Number.isInteger(p) || p < 0)) {
    throw new ShapeError(`padReplicate: pad [${pad.join(',')}] for input ${formatShape(x.shape)} must be 4 non-negative integers [left,right,top,bottom]`);
  }
  const [left, right, top, bottom] = pad;
  const out = Tensor.empty(device, [n, c, h + top + bottom, w + left + right]);
  Pad.planeWindow(x, out, -top, -left, 'replicate');
  return record(out, 'padReplicate', [x], (g) => {
    const dx = Tensor.empty(device, x.shape);
    Pad.replicatePadBackward(g, dx, top, left);
    return [dx];
  });
}

/** The height×width window of each plane whose top-left corner is (top, left). */
export function crop(x: Tensor, top: number, left: number, height: number, width: number): Tensor {
  const device = deviceOf('crop', x);
  const [n, c, h, w] = imageShape('crop', x);
  const valid =
    [top, left].every((v) => Number.isInteger(v) && v >= 0) &&
    [height, width].every((v) => Number.isInteger(v) && v >= 1) &&
    top + height <= h &&
    left + width <= w;
  if (!valid) {
    throw new ShapeError(`crop: window top=${top} left=${left} height=${height} width=${width} does not fit input ${formatShape(x.shape)} (${h}×${w})`);
  }
  const out = Tensor.empty(device, [n, c, height, width]);
  Pad.planeWindow(x, out, top, left, 'zero');
  return record(out, 'crop', [x], (g) => {
    const dx = Tensor.empty(device, x.shape);
    // Zero padding back to the input's size: the same window, seen from the other side.
    Pad.planeWindow(g, dx, -top, -left, 'zero');
    return [dx];
  });
}
