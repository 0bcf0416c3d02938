// The workgroup-memory GEMM tiles of kernels/gemm_tiles.wgsl, shared by the
// tiled kernel families (conv_tiled, matmul_tiled): the tile shape for an
// adapter (from its limits), the kernel variant for a shape, the grid.

import { EngineError } from '../engine/errors.ts';
import { groups1d, type Kernel } from '../engine/kernel.ts';

/** Rows × columns of C per invocation (TM, TN in the WGSL; the multiply is written out for them). */
const ROWS_PER_INVOCATION = 4;
const COLUMNS_PER_INVOCATION = 8;
/** Register arrays of the WGSL's prefetch (MAX_A_VEC4S, MAX_B_VEC4S): a plan must fit them. */
const MAX_A_VEC4S = 2;
const MAX_B_VEC4S = 4;

export interface TilePlan {
  /** Invocations along N (columns of C) and along M (rows). */
  workgroup: [number, number];
  /** The workgroup's tile of C, and the K slice staged per step. */
  tileM: number;
  tileN: number;
  tileK: number;
  /** Bytes of var<workgroup> the tiles take. */
  workgroupStorage: number;
}

/** The limits that shape the tiles (a GPUSupportedLimits, or a Device's `limits`). */
export type TiledLimits = Pick<GPUSupportedLimits, 'maxComputeInvocationsPerWorkgroup' | 'maxComputeWorkgroupStorageSize'>;

function plan(wgX: number, wgY: number, tileK: number): TilePlan {
  const tileM = ROWS_PER_INVOCATION * wgY;
  const tileN = COLUMNS_PER_INVOCATION * wgX;
  // b_tile's rows (one per column of C) are padded by one vec4 (B_ROW in the WGSL).
  const workgroupStorage = 4 * (tileM * tileK + tileN * (tileK + 4));
  return { workgroup: [wgX, wgY], tileM, tileN, tileK, workgroupStorage };
}

/**
 * Candidates, best first. 64×128 tiles of 256 invocations with 4×8 blocks:
 * the usual SGEMM shape for NVIDIA-class GPUs (3 vec4 reads of workgroup
 * memory per 32 FMAs; 14 KiB of tiles, so several workgroups fit an SM),
 * with TILE_M = 64 matching LMFN's 64- and 50-channel convs. Then
 * 32×128 for adapters that allow only 128 invocations (WebGPU
 * compatibility's minimum). Both fit the 16 KiB minimum of workgroup storage.
 */
export const TILE_PLANS = [plan(16, 16, 16), plan(16, 8, 16)];

/**
 * The tile shape for an adapter: the first candidate its limits allow. Pure;
 * takes a Device (its `limits`) or the limits themselves.
 */
export function tilePlan(source: TiledLimits | { limits: TiledLimits }): TilePlan {
  const limits = 'limits' in source ? source.limits : source;
  for (const p of TILE_PLANS) {
    const [x, y] = p.workgroup;
    if (x * y <= limits.maxComputeInvocationsPerWorkgroup && p.workgroupStorage <= limits.maxComputeWorkgroupStorageSize) return p;
  }
  throw new EngineError(
    `gemm tiles: no tile fits ${limits.maxComputeInvocationsPerWorkgroup} invocations and ` +
      `${limits.maxComputeWorkgroupStorageSize} bytes of workgroup storage (below WebGPU's minimums)`,
  );
}

/** How many vec4s of A and floats of B (consecutive k of one column) each invocation prefetches per slice (A_VEC4S, B_LOADS). */
export function loadsPerInvocation(p: TilePlan): { aVec4s: number; bLoads: number } {
  const invocations = p.workgroup[0] * p.workgroup[1];
  return { aVec4s: (p.tileM * p.tileK) / 4 / invocations, bLoads: (p.tileK * p.tileN) / invocations };
}

/** The plan's kernel variant: its workgroup size and tile constants. */
export function planned(k: Kernel, p: TilePlan, constants: Record<string, number> = {}): Kernel {
  const { aVec4s, bLoads } = loadsPerInvocation(p);
  // The load mapping: whole vec4s of A per invocation; one B column per invocation
  // (whole groups of invocations per column), whole vec4s of it.
  const invocations = p.workgroup[0] * p.workgroup[1];
  const fits = Number.isInteger(aVec4s) && aVec4s >= 1 && aVec4s <= MAX_A_VEC4S && invocations % p.tileN === 0 && bLoads % 4 === 0 && bLoads / 4 <= MAX_B_VEC4S;
  if (!fits) {
    throw new EngineError(`gemm tiles: plan ${JSON.stringify(p)} does not fit the kernel's load mapping`);
  }
  return k.with({ workgroupSize: p.workgroup, constants: { TILE_K: p.tileK, ...constants } });
}

/** Workgroups for a GEMM: x the M tiles, y·z the N tiles (folded above 65,535; see n_tile). */
export function gemmGroups(p: TilePlan, m: number, n: number): [number, number, number] {
  const [ny, nz] = groups1d(n, p.tileN);
  return [Math.ceil(m / p.tileM), ny, nz];
}

/**
 * Workgroups a split-K launch aims for: a large GPU (an H100 has 132 SMs)
 * needs several resident per SM to hide latency. WebGPU does not say how many
 * SMs an adapter has; on a smaller GPU this only splits a little more than
 * needed. No split is made shorter than MIN_SPLIT_K: each costs a tile of
 * partial sums, a prologue, and work in the second pass.
 */
export const SPLIT_K_WORKGROUPS = 132 * 4;
export const MIN_SPLIT_K = 512;
