// The activation a kernel can fuse into its epilogue (kernels/activation.wgsl):
// the override constants that select it.

/** ACT in activation.wgsl: 0 none, 1 relu, 2 leaky relu (slope ≥ 0), 3 sigmoid. */
export interface FusedActivation {
  act: 0 | 1 | 2 | 3;
  /** Leaky relu's negative slope; 0 otherwise. */
  slope: number;
}

export const NO_ACTIVATION: FusedActivation = { act: 0, slope: 0 };

/** The override constants of a kernel that includes activation.wgsl. */
export function activationConstants(a: FusedActivation): { ACT: number; SLOPE: number } {
  return { ACT: a.act, SLOPE: a.slope };
}
