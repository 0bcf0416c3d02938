// Launcher for kernels/matmul_tiled.wgsl, the matmul on workgroup-memory
// tiles for GPUs: its split-K plan (a pure function of the shapes and the
// tile plan) and its first pass; matmul.ts sums the split slices.

import { MAX_WORKGROUPS_PER_DIMENSION, Kernel, launch, wgsl, splitReduction, type Operand } from '../engine/kernel.ts';
import { MIN_SPLIT_K, SPLIT_K_WORKGROUPS, TILE_PLANS, planned, type TilePlan } from './gemm_tiles.ts';
import type { MatmulArgs, MatmulDims } from './matmul_args.ts';

const source = wgsl('matmul_tiled.wgsl', 'gemm_tiles.wgsl', 'matmul_operands.wgsl');
const matmulKernel = new Kernel({
  name: 'matmul_tiled.matmul', source, entryPoint: 'matmul', bindings: ['read', 'read', 'write'], params: true, workgroupSize: TILE_PLANS[0].workgroup,
});

export interface MatmulTiledPlan {
  groups: [number, number, number];
  splits: number;
  /** k values per split, a multiple of the tile's K slice. */
  chunk: number;
}

/**
 * Tiles of C over x (M) and y (N), and z = split·batch + b; K is split when the
 * tiles are few (ALFM's X·Xᵀ at 720p: 200×200 outputs, 8 tiles, K = 57,600). Pure.
 */
export function planMatmulTiled({ batch, m, n, k }: MatmulDims, tiles: TilePlan): MatmulTiledPlan {
  const gx = Math.ceil(m / tiles.tileM);
  const gy = Math.ceil(n / tiles.tileN);
  const { splits, chunk } = splitReduction(k, {
    workgroups: batch * gx * gy, target: SPLIT_K_WORKGROUPS, minChunk: MIN_SPLIT_K, multiple: tiles.tileK,
    maxSplits: Math.floor(MAX_WORKGROUPS_PER_DIMENSION / batch),
  });
  return { groups: [gx, gy, batch * splits], splits, chunk };
}

/** Writes op(a)·op(b) into `out` (C, or the [splits, batch, m, n] partial slices when plan.splits > 1). */
export function matmulTiledPass(a: Operand, b: Operand, out: Operand, args: MatmulArgs, tiles: TilePlan, plan: MatmulTiledPlan): void {
  const kernel = planned(matmulKernel, tiles, { TRANS_A: Number(args.transA), TRANS_B: Number(args.transB) });
  launch(out.device, kernel, {
    buffers: [a.range(), b.range(), out.range()],
    params: [args.m, args.n, args.k, args.batch, plan.splits, plan.chunk, args.batchStrideA, args.batchStrideB],
    groups: plan.groups,
  });
}
