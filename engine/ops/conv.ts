// Convolutions: conv2d (PyTorch Conv2d semantics) and the separable pseudo-3D
// conv3d that LMFN's ACFM uses, built on conv2d by folding axes into others.

import { record } from '../autograd.ts';
import { ShapeError, formatShape } from '../errors.ts';
import { Tensor, deviceOf, sameShape } from '../tensor.ts';
import { biasGradFused, conv2dForward, conv2dInputGrad, conv2dWeightGrad, type ConvGeometry } from '../../kernels/conv2d.ts';
import { sumAxes } from '../../kernels/reduce.ts';
import { unaryBackward } from '../../kernels/elementwise.ts';
import { PLAIN, type Epilogue } from '../../kernels/epilogue.ts';
import { leakyRelu } from './elementwise.ts';

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  /**
   * An activation applied to the conv's output inside the conv kernel: one
   * pass over memory fewer, and the pre-activation tensor is never stored.
   * Same values and gradients as applying relu/leakyRelu/sigmoid after it.
   */
  activation?: 'relu' | 'leakyRelu' | 'sigmoid';
  /** leakyRelu's slope for negative inputs; default 0.01 (PyTorch's). */
  negativeSlope?: number;
  /**
   * A tensor of the output's shape added inside the conv kernel, before the
   * activation: `conv2d(x, w, b, { residual: r, activation: 'relu' })` is
   * `relu(add(conv2d(x, w, b), r))` in one pass (residual blocks).
   */
  residual?: Tensor;
}

/** The fused form of an activation option, or null when it must run unfused (a negative slope: see epilogue.wgsl). */
function fusedActivation(op: string, o: Conv2dOptions): Pick<Epilogue, 'act' | 'slope'> | null {
  const slope = o.negativeSlope ?? 0.01;
  if (o.negativeSlope !== undefined && o.activation !== 'leakyRelu') {
    throw new ShapeError(`${op}: negativeSlope is an option of activation 'leakyRelu', not of ${o.activation ? `'${o.activation}'` : 'no activation'}`);
  }
  switch (o.activation) {
    case undefined: return PLAIN;
    case 'relu': return { act: 1, slope: 0 };
    case 'sigmoid': return { act: 3, slope: 0 };
    case 'leakyRelu':
      if (!Number.isFinite(slope)) throw new ShapeError(`${op}: negativeSlope must be a finite number, got ${slope}`);
      return slope >= 0 ? { act: 2, slope } : null;
    default:
      throw new ShapeError(`${op}: activation must be 'relu', 'leakyRelu' or 'sigmoid', got ${JSON.stringify(o.activation)}`);
  }
}

const ACTIVATION_NAMES = { 1: 'relu', 2: 'leakyRelu', 3: 'sigmoid' } as const;

function pair(op: string, name: string, v: number | [number, number], min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : v;
  if (p.length !== 2 || !p.every((d) => Number.isInteger(d) && d >= min)) {
    throw new ShapeError(`${op}: ${name} ${JSON.stringify(v)} must be an integer ≥ ${min} or a pair of them`);
  }
  return p;
}

/**
 * 2-D cross-correlation with zero padding: x [N,C,H,W], weight [O,C,kH,kW],
 * bias [O] or null → [N,O,Ho,Wo] with Ho = floor((H + 2·padH − kH)/strideH) + 1.
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null, options: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  const residual = options.residual ?? null;
  const device = deviceOf(op, x, weight, ...(bias ? [bias] : []), ...(residual ? [residual] : []));
  const [strideH, strideW] = pair(op, 'stride', options.stride ?? 1, 1);
  const [padH, padW] = pair(op, 'padding', options.padding ?? 0, 0);
  if (x.rank !== 4) throw new ShapeError(`${op}: input ${formatShape(x.shape)} must be [N,C,H,W]`);
  if (weight.rank !== 4) throw new ShapeError(`${op}: weight ${formatShape(weight.shape)} must be [O,C,kH,kW]`);
  const [batch, inChannels, inH, inW] = x.shape;
  const [outChannels, weightChannels, kernelH, kernelW] = weight.shape;
  if (weightChannels !== inChannels) {
    throw new ShapeError(
      `${op}: input ${formatShape(x.shape)} has ${inChannels} channels but weight ${formatShape(weight.shape)} expects ${weightChannels}`,
    );
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== outChannels)) {
    throw new ShapeError(`${op}: bias ${formatShape(bias.shape)} does not match weight ${formatShape(weight.shape)} (expected [${outChannels}])`);
  }
  if (kernelH > inH + 2 * padH || kernelW > inW + 2 * padW) {
    throw new ShapeError(
      `${op}: kernel ${kernelH}×${kernelW} of weight ${formatShape(weight.shape)} is larger than input ${formatShape(x.shape)} padded by [${padH},${padW}]`,
    );
  }
  const outH = Math.floor((inH + 2 * padH - kernelH) / strideH) + 1;
  const outW = Math.floor((inW + 2 * padW - kernelW) / strideW) + 1;
  const geometry: ConvGeometry = { batch, inChannels, inH, inW, outChannels, outH, outW, kernelH, kernelW, strideH, strideW, padH, padW };
  const outShape = [batch, outChannels, outH, outW];
  if (residual && !sameShape(residual.shape, outShape)) {
    throw new ShapeError(`${op}: residual ${formatShape(residual.shape)} must have the output's shape ${formatShape(outShape)}`);
  }
  const act = fusedActivation(op, options);
  if (act === null) {
    // A negative slope: y > 0 no longer tells where x > 0, so keep x (the conv output) for the backward.
    const z = conv2d(x, weight, bias, { stride: options.stride, padding: options.padding, residual: options.residual });
    const y = leakyRelu(z, options.negativeSlope!);
    if (!y.gradFn) z.dispose();
    return y;
  }
  const epilogue: Epilogue = { ...act, residual };
  const out = Tensor.empty(device, outShape);
  if (out.size > 0) conv2dForward(x, weight, bias, out, geometry, epilogue);
  const inputs = [x, weight, ...(bias ? [bias] : []), ...(residual ? [residual] : [])];
  return record(out, op, inputs, (dOut) => {
    // dL/d(pre-activation), from the saved output alone.
    let g = dOut;
    if (act.act !== 0) {
      g = Tensor.empty(device, out.shape);
      unaryBackward(ACTIVATION_NAMES[act.act], out, dOut, g, act.slope);
    }
    let dx: Tensor | null = null;
    if (x.requiresGrad) {
      dx = Tensor.empty(device, x.shape);
      conv2dInputGrad(g, weight, dx, geometry);
    }
    const dw = weight.requiresGrad ? Tensor.empty(device, weight.shape) : null;
    const db = bias?.requiresGrad ? Tensor.empty(device, bias.shape) : null;
    const fused = dw !== null && biasGradFused(device, geometry);
    if (dw) conv2dWeightGrad(g, x, dw, geometry, fused ? db : null);
    if (db && !fused) {
      const g4 = sameShape(g.shape, out.shape) ? g : g.reshape(out.shape);
      sumAxes(g4, [0, 2, 3], db);
      if (g4 !== g) g4.dispose();
    }
    // The residual's gradient is the pre-activation gradient itself.
    const dResidual = residual?.requiresGrad ? g : null;
    if (g !== dOut && g !== dResidual) g.dispose();
    return [dx, dw, ...(bias ? [db] : []), ...(residual ? [dResidual] : [])];
  });
}

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
