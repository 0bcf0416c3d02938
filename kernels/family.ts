// Which kernel family runs the GEMM-shaped ops (conv2d, matmul) on a device:
// 'tiled' (workgroup-memory tiles, gemm_tiles.wgsl: what GPUs need) or
// 'direct' (register blocks without workgroup memory: conv2d_vec4*.wgsl,
// conv2d.wgsl, matmul.wgsl; on llvmpipe, where workgroup memory is plain RAM
// and barriers are costly, 4× faster than the tiled kernels over a training
// step, and slower to compile). Every other op has one kernel for every adapter.

import type { AdapterDescription, Device } from '../engine/device.ts';
import { EngineError } from '../engine/errors.ts';
import { host } from '../engine/host.ts';

export type KernelFamily = 'tiled' | 'direct';
const families = new WeakMap<Pick<Device, 'description'>, KernelFamily>();

/** The ops whose kernels depend on the family, and the WGSL each family runs them with. */
export const FAMILY_KERNELS: Record<string, Record<KernelFamily, string[]>> = {
  conv2d: {
    tiled: ['conv2d_tiled.wgsl', 'gemm_tiles.wgsl'],
    direct: ['conv2d_vec4_3x3.wgsl', 'conv2d_vec4_1x1.wgsl', 'conv2d_vec4_pack.wgsl', 'conv2d_vec4.wgsl', 'conv2d.wgsl'],
  },
  matmul: { tiled: ['matmul_tiled.wgsl', 'gemm_tiles.wgsl'], direct: ['matmul.wgsl'] },
};

/** What the environment may ask for: WGRAD_KERNELS=auto|tiled|direct. */
export function parseFamilyChoice(value: string | undefined): KernelFamily | 'auto' {
  const choice = (value || 'auto').toLowerCase();
  if (choice !== 'auto' && choice !== 'tiled' && choice !== 'direct') {
    throw new EngineError(`WGRAD_KERNELS must be 'auto', 'tiled' or 'direct', got '${value}'`);
  }
  return choice;
}

/** Mesa's major version from an adapter description ("OpenGL ES 3.2 Mesa 22.3.6", "llvmpipe: Mesa 25.0.7…"), or null. */
export function mesaMajor(description: string): number | null {
  const m = /\bMesa (\d+)\./.exec(description);
  return m ? Number(m[1]) : null;
}

/**
 * The family an adapter runs by default: 'tiled' on hardware GPUs; 'direct'
 * on Mesa 22–23's llvmpipe, where it is 4× faster per training step and its
 * pipelines compile in 25 s from an empty cache; 'tiled' on every other CPU
 * implementation. On Mesa ≥ 24 (llvmpipe and lavapipe alike) the direct
 * kernels took 5–8× longer to compile, 170 s before the first training step,
 * against 16 s for the tiled ones. SwiftShader cannot compile the direct
 * family's register-blocked conv (conv2d_vec4): its shader compiler grew to
 * 24 GB compiling one 64→64 3×3 forward and was killed for memory, in Node
 * and in Chromium alike (there the page loses its device: "A valid external
 * Instance reference no longer exists"), so there it is tiled only.
 * Measured: bench/RESULTS.md, "Step time and first step per implementation".
 */
export function defaultFamily(d: Pick<AdapterDescription, 'kind' | 'implementation' | 'description'>): KernelFamily {
  if (d.kind === 'gpu') return 'tiled';
  const mesa = mesaMajor(d.description);
  return (d.implementation === 'llvmpipe' || d.implementation === 'lavapipe') && mesa !== null && mesa < 24 ? 'direct' : 'tiled';
}

/**
 * `defaultFamily` for the device; the environment variable
 * WGRAD_KERNELS=tiled|direct|auto overrides it (to compare the two, to test
 * the tiled kernels on a CPU, or to take direct's faster steps on Mesa ≥ 24
 * after paying its compile once). Read once per device.
 */
export function kernelFamily(device: Pick<Device, 'description'>): KernelFamily {
  let family = families.get(device);
  if (!family) {
    const choice = parseFamilyChoice(host().env('WGRAD_KERNELS'));
    if (choice === 'direct' && device.description.implementation === 'swiftshader') {
      throw new EngineError(
        "WGRAD_KERNELS=direct: SwiftShader's shader compiler runs out of memory on the direct conv kernels (24 GB, then killed); use tiled",
      );
    }
    family = choice === 'auto' ? defaultFamily(device.description) : choice;
    families.set(device, family);
  }
  return family;
}

/** Pins a device's family, overriding the adapter default and WGRAD_KERNELS (tests, benchmarks). */
export function useKernelFamily(device: Pick<Device, 'description'>, family: KernelFamily): void {
  families.set(device, family);
}
