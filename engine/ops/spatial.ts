// Spatial ops on NCHW images: pixel shuffle/unshuffle, bilinear resize,
// max-pool, replicate padding and cropping. Every backward is a gather (one
// invocation per input element), since WGSL has no f32 atomics to scatter with.

import { record } from '../autograd.ts';
import { ShapeError, formatShape } from '../errors.ts';
import { Tensor, deviceOf } from '../tensor.ts';
import * as Shuffle from '../../kernels/shuffle.ts';
import * as Bilinear from '../../kernels/bilinear.ts';
import * as Pool from '../../kernels/pool.ts';
import * as Pad from '../../kernels/pad.ts';

type Nchw = [n: number, c: number, h: number, w: number];

function imageShape(op: string, x: Tensor): Nchw {
  if (x.rank !== 4) throw new ShapeError(`${op}: expects an NCHW tensor, got ${formatShape(x.shape)}`);
  return x.shape as Nchw;
}

function checkPositive(op: string, what: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new ShapeError(`${op}: ${what} must be a positive integer, got ${value}`);
}

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
  });
  if (!out.gradFn) argmax.dispose();
  return out;
}

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
