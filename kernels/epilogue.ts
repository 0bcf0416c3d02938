// What a kernel can fuse into its epilogue (kernels/epilogue.wgsl):
// y = act(acc + bias + residual), and the override constants that select it.

import { type Operand } from '../engine/kernel.ts';

export interface Epilogue {
  /** ACT in epilogue.wgsl: 0 none, 1 relu, 2 leaky relu (slope ≥ 0), 3 sigmoid. */
  act: 0 | 1 | 2 | 3;
  /** Leaky relu's negative slope; 0 otherwise. */
  slope: number;
  /** A tensor of the output's shape added before the activation, or null. */
  residual: Operand | null;
}

export const PLAIN: Epilogue = { act: 0, slope: 0, residual: null };

/** activate4_flat's run-time form (epilogue.wgsl): the negative-side slope, and whether to apply the sigmoid. */
export function epilogueParams(e: Epilogue): { slope: number; sigmoid: boolean } {
  return { slope: e.act === 1 ? 0 : e.act === 2 ? e.slope : 1, sigmoid: e.act === 3 };
}

/** The override constants of a kernel that includes epilogue.wgsl. */
export function epilogueConstants(e: Epilogue): { ACT: number; SLOPE: number; HAS_RESIDUAL: number } {
  return { ACT: e.act, SLOPE: e.slope, HAS_RESIDUAL: Number(e.residual !== null) };
}
