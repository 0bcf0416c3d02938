// What a matmul launch is given, shared by its two kernel families (matmul.ts, matmul_tiled.ts).

export interface MatmulDims {
  batch: number;
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
}

export interface MatmulArgs extends MatmulDims {
  transA: boolean;
  transB: boolean;
  /** Elements between consecutive batch entries; 0 for an operand shared by all. */
  batchStrideA: number;
  batchStrideB: number;
}
