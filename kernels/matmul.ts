// Launcher for kernels/matmul.wgsl: register-blocked batched matmul with
// transpose flags, a vec4 kernel for shapes in multiples of 4, and split-K for
// long inner dimensions. All choices come from `planMatmul`, a pure function
// of the shapes.

import { MAX_WORKGROUPS_PER_DIMENSION, Kernel, groups1d, launch, wgsl, splitReduction, type Operand, Scratch } from '../engine/kernel.ts';
import { kernelFamily } from './family.ts';
import { tilePlan } from './gemm_tiles.ts';
import { matmulTiledPass, planMatmulTiled } from './matmul_tiled.ts';
import type { MatmulArgs, MatmulDims } from './matmul_args.ts';

export type { MatmulArgs, MatmulDims } from './matmul_args.ts';

const source = wgsl('matmul.wgsl', 'matmul_operands.wgsl');

/**
 * Each of the WG_X × WG_Y invocations of a workgroup owns a block of TM rows
 * × TN4 vec4 columns of C. The scalar kernel: 8×8 blocks, a 64×64 tile per
 * workgroup. (Measured on llvmpipe: 8×8 blocks beat 4×8, 8×4, 12×8, 16×8 and
 * 8×16 there; 4×4 workgroups, which pad 200-wide outputs less, were no
 * faster, because invocations wholly past the edge return at once.)
 */
const WG_X = 8;
const WG_Y = 8;
const TM = 8;
const TN4 = 2;
export const TILE_M = WG_Y * TM;
export const TILE_N = WG_X * TN4 * 4;

/**
 * The vec4 kernel's blocks and split-K target by adapter kind. On a CPU
 * adapter loads are what cost, so large blocks and a handful of workgroups
 * to fill the cores; a GPU wants many workgroups of small blocks. 8×32, not
 * 16×32: 16×32 has 0.6× the loads per product, but compiled in 2.8 s against
 * 1.1 s per pipeline on Mesa 22 llvmpipe (cold), three pipelines paid before
 * the first training step, for matmuls that are 6% of that step.
 */
const VEC4_PLAN = {
  cpu: { tm: 8, tn4: 8, targetWorkgroups: 8 },
  gpu: { tm: 8, tn4: 2, targetWorkgroups: 256 },
} as const;
export type AdapterKind = keyof typeof VEC4_PLAN;

/** …but never gives a split fewer than this many k values (the partials would cost more than they save). */
const MIN_CHUNK = 256;
const SUM_WG = 256;

/** Indexed [vec4][transA][transB]. */
const matmulKernels = ['matmul', 'matmul_vec4'].map((entryPoint) =>
  [false, true].map((transA) =>
    [false, true].map(
      (transB) =>
        new Kernel({
          name: `matmul.${entryPoint}`,
          source,
          entryPoint,
          bindings: ['read', 'read', 'write'],
          params: true,
          workgroupSize: [WG_X, WG_Y],
          constants: { TRANS_A: Number(transA), TRANS_B: Number(transB), TM, TN4 },
        }),
    ),
  ),
);

const sumSplitsKernel = new Kernel({
  name: 'matmul.sum_splits',
  source,
  entryPoint: 'sum_splits',
  bindings: ['read', 'write'],
  params: true,
  workgroupSize: [SUM_WG],
});

export interface MatmulPlan {
  /** Workgroups along N, along M, and along (split, batch). */
  groups: [number, number, number];
  /** Number of k ranges summed by a second pass (1: single pass). */
  splits: number;
  /** k values per split (a multiple of 4). */
  chunk: number;
  /**
   * Whether the vec4 kernel applies: K and the dimension each operand is
   * contiguous along are multiples of 4 (about twice as fast on llvmpipe).
   */
  vec4: boolean;
  /** Rows and vec4 columns of C per invocation. */
  tm: number;
  tn4: number;
}

/**
 * How to launch a matmul of these dimensions on this kind of adapter. Splits
 * K when the output alone gives too few workgroups to fill the device (X·Xᵀ:
 * 200×200 outputs, K = 57,600), with each split long enough to be worth its
 * partial sums. Blocks shrink to the output for small M or N.
 */
export function planMatmul({ batch, m, n, k, transA = false, transB = false }: MatmulDims, kind: AdapterKind = 'gpu'): MatmulPlan {
  const vec4 = k % 4 === 0 && (!transA || m % 4 === 0) && (transB || n % 4 === 0);
  const target = VEC4_PLAN[kind];
  const tm = vec4 ? Math.min(target.tm, 4 * Math.ceil(m / 4)) : TM;
  const tn4 = vec4 ? Math.min(target.tn4, Math.ceil(n / 4)) : TN4;
  const gx = Math.ceil(n / (WG_X * tn4 * 4));
  const gy = Math.ceil(m / (WG_Y * tm));
  // Whole steps of 4 k for the vec4 kernel.
  const { splits, chunk } = splitReduction(k, {
    workgroups: batch * gx * gy, target: target.targetWorkgroups, minChunk: MIN_CHUNK, multiple: 4,
    maxSplits: Math.floor(MAX_WORKGROUPS_PER_DIMENSION / batch),
  });
  return { groups: [gx, gy, batch * splits], splits, chunk, vec4, tm, tn4 };
}

/**
 * out ([batch, m, n] contiguous) = op(a) · op(b). Records one or two
 * dispatches, on the device's kernel family (family.ts): matmul.wgsl's
 * register blocks, or matmul_tiled.wgsl's workgroup-memory tiles.
 */
export function matmul(a: Operand, b: Operand, out: Operand, args: MatmulArgs): void {
  const { batch, m, n, k } = args;
  const device = out.device;
  let splits: number;
  let pass: (target: Operand) => void;
  if (kernelFamily(device) === 'tiled') {
    const tiles = tilePlan(device);
    const plan = planMatmulTiled(args, tiles);
    splits = plan.splits;
    pass = (target) => matmulTiledPass(a, b, target, args, tiles, plan);
  } else {
    const plan = planMatmul(args, device.description.kind);
    const kernel = matmulKernels[Number(plan.vec4)][Number(args.transA)][Number(args.transB)].with({ constants: { TM: plan.tm, TN4: plan.tn4 } });
    splits = plan.splits;
    pass = (target) =>
      launch(device, kernel, {
        buffers: [a.range(), b.range(), target.range()],
        params: [m, n, k, batch, plan.splits, plan.chunk, args.batchStrideA, args.batchStrideB],
        groups: plan.groups,
      });
  }
  if (splits === 1) return pass(out);
  const total = batch * m * n;
  const partials = new Scratch(device, [splits, total]);
  pass(partials);
  launch(device, sumSplitsKernel, {
    buffers: [partials.range(), out.range()],
    params: [total, splits],
    groups: groups1d(total, SUM_WG),
  });
  partials.release();
}
