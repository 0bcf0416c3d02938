// Batched matrix products with transpose flags: ALFM's attention products
// (E = X·Xᵀ and Y = A·X, spec §5.3).

import { record } from '../autograd.ts';
import { ShapeError, formatShape } from '../errors.ts';
import { Tensor, deviceOf } from '../tensor.ts';
import * as MM from '../../kernels/matmul.ts';
import { sumToShape } from './reduce.ts';

export interface MatmulOptions {
  /** `a` is stored [K, M] (or [B, K, M]) and used transposed. */
  transA?: boolean;
  /** `b` is stored [N, K] (or [B, N, K]) and used transposed. */
  transB?: boolean;
}

function describeOperand(name: string, t: Tensor, trans: boolean): string {
  return `${name} ${formatShape(t.shape)}${trans ? ' (transposed)' : ''}`;
}

/**
 * op(a) · op(b), op = optional transpose of the last two axes. 2-D or 3-D
 * operands; a 2-D operand against a 3-D one is shared by every batch entry.
 * Output [M, N], or [B, M, N] when either operand is batched.
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const { transA = false, transB = false } = options;
  const device = deviceOf('matmul', a, b);
  for (const [name, t] of [['a', a], ['b', b]] as const) {
    if (t.rank !== 2 && t.rank !== 3) {
      throw new ShapeError(`matmul: ${name} ${formatShape(t.shape)} must be 2-D or 3-D (a ${formatShape(a.shape)}, b ${formatShape(b.shape)})`);
    }
  }
  const [ra, ca] = a.shape.slice(-2);
  const [rb, cb] = b.shape.slice(-2);
  const [m, ka] = transA ? [ca, ra] : [ra, ca];
  const [kb, n] = transB ? [cb, rb] : [rb, cb];
  if (ka !== kb) {
    throw new ShapeError(
      `matmul: inner dimensions differ: ${describeOperand('a', a, transA)} has K = ${ka} but ${describeOperand('b', b, transB)} has K = ${kb}`,
    );
  }
  const batchA = a.rank === 3 ? a.shape[0] : null;
  const batchB = b.rank === 3 ? b.shape[0] : null;
  if (batchA !== null && batchB !== null && batchA !== batchB) {
    throw new ShapeError(`matmul: batch sizes differ: a ${formatShape(a.shape)} has ${batchA}, b ${formatShape(b.shape)} has ${batchB}`);
  }
  const batch = batchA ?? batchB;
  const out = Tensor.empty(device, batch === null ? [m, n] : [batch, m, n]);
  MM.matmul(a, b, out, {
    batch: batch ?? 1,
    m,
    n,
    k: ka,
    transA,
    transB,
    batchStrideA: batchA === null ? 0 : m * ka,
    batchStrideB: batchB === null ? 0 : ka * n,
  });
  return record(out, 'matmul', [a, b], (g) => {
    // With C = op(A)·op(B): d op(A) = dC·op(B)ᵀ and d op(B) = op(A)ᵀ·dC, each
    // written as one matmul that lands in the operand's stored layout.
    let da: Tensor | null = null;
    let db: Tensor | null = null;
    if (a.requiresGrad) {
      da = summedOverBatch(a.shape, transA ? matmul(b, g, { transA: transB, transB: true }) : matmul(g, b, { transB: !transB }));
    }
    if (b.requiresGrad) {
      if (b.rank === 2 && a.rank === 3 && !transA) {
        // A shared B: fold the batch into K instead of summing B per-batch products.
        const a2 = a.reshape([a.shape[0] * m, ka]);
        const g2 = g.reshape([a.shape[0] * m, n]);
        db = transB ? matmul(g2, a2, { transA: true }) : matmul(a2, g2, { transA: true });
        a2.dispose();
        g2.dispose();
      } else {
        db = summedOverBatch(b.shape, transB ? matmul(g, a, { transA: true, transB: transA }) : matmul(a, g, { transA: !transA }));
      }
    }
    return [da, db];
  });
}

/** A batched gradient for an operand that was shared across the batch, summed back to its 2-D shape. */
function summedOverBatch(shape: readonly number[], grad: Tensor): Tensor {
  const summed = sumToShape(grad, shape);
  if (summed !== grad) grad.dispose();
  return summed;
}
