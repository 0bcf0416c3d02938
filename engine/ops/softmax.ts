// Row softmax with a scale, along the last axis: ALFM's attention weights
// (A = softmax(−E), spec §5.3).

import { record } from '../autograd.ts';
import { ShapeError, formatShape } from '../errors.ts';
import { Tensor, deviceOf } from '../tensor.ts';
import * as SM from '../../kernels/softmax.ts';

export interface SoftmaxOptions {
  /** Only the last axis is supported: -1 or rank − 1 (default -1). */
  dim?: number;
  /** softmax(scale·x); ALFM uses -1 (default 1). */
  scale?: number;
}

/** softmax(scale·x) along the last axis, numerically stable. */
export function softmax(x: Tensor, options: SoftmaxOptions = {}): Tensor {
  const { dim = -1, scale = 1 } = options;
  const device = deviceOf('softmax', x);
  if (x.rank === 0 || (dim !== -1 && dim !== x.rank - 1)) {
    throw new ShapeError(`softmax: dim ${dim} of ${formatShape(x.shape)} is not supported; only the last axis (-1 or ${x.rank - 1})`);
  }
  const cols = x.shape[x.rank - 1];
  const out = Tensor.empty(device, x.shape);
  SM.softmax(x, out, cols, scale);
  return record(out, 'softmax', [x], (g) => {
    const dx = Tensor.empty(device, x.shape);
    SM.softmaxBackward(out, g, dx, cols, scale);
    return [dx];
  });
}
