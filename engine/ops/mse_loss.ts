// Mean squared error: one fused reduction forward and one elementwise backward.

import { record } from '../autograd.ts';
import { ShapeError, formatShape } from '../errors.ts';
import { Tensor, deviceOf, sameShape } from '../tensor.ts';
import { fill } from '../../kernels/elementwise.ts';
import { squaredErrorBackward, squaredErrorSum } from '../../kernels/mse_loss.ts';

/**
 * Mean over all elements of (input − target)², as a [1] tensor (PyTorch
 * `F.mse_loss` with reduction 'mean'). Shapes must match exactly.
 */
export function mseLoss(input: Tensor, target: Tensor): Tensor {
  const device = deviceOf('mseLoss', input, target);
  if (!sameShape(input.shape, target.shape)) {
    throw new ShapeError(`mseLoss: input ${formatShape(input.shape)} and target ${formatShape(target.shape)} must have the same shape`);
  }
  const n = input.size;
  const out = Tensor.empty(device, [1]);
  // The mean of nothing is NaN, as in PyTorch.
  if (n === 0) fill(out, NaN);
  else squaredErrorSum(input, target, out, 1 / n);
  return record(out, 'mseLoss', [input, target], (g) => {
    const grad = (t: Tensor, scale: number) => {
      if (!t.requiresGrad) return null;
      const d = Tensor.empty(device, t.shape);
      squaredErrorBackward(input, target, g, d, scale);
      return d;
    };
    return [grad(input, 2 / n), grad(target, -2 / n)];
  });
}
