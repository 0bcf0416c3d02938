// Pseudo-3D convolution (ACFM, spec §5.4): the separable single-channel
// Conv3d filters LMFN uses, each run as conv2d on a view.

import { ShapeError, formatShape } from '../errors.ts';
import { Tensor, deviceOf } from '../tensor.ts';
import { conv2d } from './conv2d.ts';

export interface Conv3dOptions {
  padding?: [number, number, number];
}

/**
 * PyTorch Conv3d with one input and one output channel and stride 1, for the
 * separable filters of a pseudo-3D conv: x [N,1,D,H,W], weight [1,1,kD,kH,kW],
 * bias [1] or null. Supported: kD = 1 (one kH×kW filter shared by every depth
 * slice) and kH = kW = 1 (a kD-tap filter along depth). Both run as conv2d on
 * a view: the depth axis folded into the batch, or H·W folded into one row.
 */
export function conv3d(x: Tensor, weight: Tensor, bias: Tensor | null, options: Conv3dOptions = {}): Tensor {
  const op = 'conv3d';
  deviceOf(op, ...(bias ? [x, weight, bias] : [x, weight]));
  const padding = options.padding ?? [0, 0, 0];
  if (padding.length !== 3 || !padding.every((p) => Number.isInteger(p) && p >= 0)) {
    throw new ShapeError(`${op}: padding ${JSON.stringify(padding)} must be three integers ≥ 0`);
  }
  if (x.rank !== 5) throw new ShapeError(`${op}: input ${formatShape(x.shape)} must be [N,C,D,H,W]`);
  if (weight.rank !== 5) throw new ShapeError(`${op}: weight ${formatShape(weight.shape)} must be [O,C,kD,kH,kW]`);
  const [batch, channels, depth, height, width] = x.shape;
  const [outChannels, weightChannels, kD, kH, kW] = weight.shape;
  if (weightChannels !== channels) {
    throw new ShapeError(
      `${op}: input ${formatShape(x.shape)} has ${channels} channels but weight ${formatShape(weight.shape)} expects ${weightChannels}`,
    );
  }
  if (channels !== 1 || outChannels !== 1) {
    throw new ShapeError(`${op}: input ${formatShape(x.shape)} and weight ${formatShape(weight.shape)}: only one input and one output channel are supported`);
  }
  const [padD, padH, padW] = padding;
  if (kD === 1 && padD === 0) {
    return viaConv2d(x.reshape(batch * depth, 1, height, width), weight.reshape(1, 1, kH, kW), bias, [padH, padW], (out) => [
      batch, 1, depth, out.shape[2], out.shape[3],
    ]);
  }
  if (kH === 1 && kW === 1 && padH === 0 && padW === 0) {
    return viaConv2d(x.reshape(batch, 1, depth, height * width), weight.reshape(1, 1, kD, 1), bias, [padD, 0], (out) => [
      batch, 1, out.shape[2], height, width,
    ]);
  }
  throw new ShapeError(
    `${op}: weight ${formatShape(weight.shape)} with padding ${JSON.stringify(padding)}: only separable 1×k×k / k×1×1 filters ` +
      `(no padding along the axes the filter does not span) are supported`,
  );
}

/** conv2d on views, returned as a view of `shape`; the intermediate views are freed unless the graph holds them. */
function viaConv2d(x: Tensor, weight: Tensor, bias: Tensor | null, padding: [number, number], shape: (out: Tensor) => number[]): Tensor {
  const out = conv2d(x, weight, bias, { padding });
  const result = out.reshape(shape(out));
  if (!out.gradFn) for (const t of [x, weight, out]) t.dispose();
  return result;
}
