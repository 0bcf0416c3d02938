// 2-D convolution with PyTorch Conv2d semantics, with the activation and the
// residual add that follow it fused into the kernel's epilogue.

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
