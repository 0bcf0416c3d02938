// float64 references for matmul, and for ALFM's attention built from it: plain loops, no engine code.

import { softmaxRef } from './softmax.ts';

export interface MatmulRefDims {
  /** Batch entries of the output (1 when neither operand is batched). */
  batch: number;
  m: number;
  n: number;
  k: number;
  /** a is [batch?, K, M] instead of [batch?, M, K]. */
  transA?: boolean;
  /** b is [batch?, N, K] instead of [batch?, K, N]. */
  transB?: boolean;
  /** Whether each operand has its own matrix per batch entry (else one shared matrix). */
  batchedA?: boolean;
  batchedB?: boolean;
}

/** C[b, i, j] = Σ_k op(A)[b, i, k] · op(B)[b, k, j]. */
export function matmulRef(a: Float64Array, b: Float64Array, d: MatmulRefDims): Float64Array {
  const { batch, m, n, k } = d;
  const c = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    const offA = d.batchedA ? t * m * k : 0;
    const offB = d.batchedB ? t * k * n : 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const av = d.transA ? a[offA + p * m + i] : a[offA + i * k + p];
          const bv = d.transB ? b[offB + j * k + p] : b[offB + p * n + j];
          s += av * bv;
        }
        c[t * m * n + i * n + j] = s;
      }
    }
  }
  return c;
}

/** ALFM without θ: softmax(−X·Xᵀ)·X for X [batch, c, k]. */
export function attentionRef(x: Float64Array, batch: number, c: number, k: number): Float64Array {
  const e = matmulRef(x, x, { batch, m: c, n: c, k, transB: true, batchedA: true, batchedB: true });
  const att = softmaxRef(e, c, -1);
  return matmulRef(att, x, { batch, m: c, n: k, k: c, batchedA: true, batchedB: true });
}
