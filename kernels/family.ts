// Which kernel family runs the GEMM-shaped ops (conv2d, matmul) on a device:
// 'tiled' (workgroup-memory tiles, gemm_tiles.wgsl: what GPUs need) or
// 'direct' (register blocks without workgroup memory: conv_vec4.wgsl,
// conv2d.wgsl, matmul.wgsl; on llvmpipe, where workgroup memory is plain RAM
// and barriers are costly, 4× faster than the tiled kernels over a training
// step). Every other op has one kernel for every adapter.

import type { Device } from '../engine/device.ts';
import { EngineError } from '../engine/errors.ts';

export type KernelFamily = 'tiled' | 'direct';
const families = new WeakMap<Pick<Device, 'description'>, KernelFamily>();

/** The ops whose kernels depend on the family, and the WGSL each family runs them with. */
export const FAMILY_KERNELS: Record<string, Record<KernelFamily, string[]>> = {
  conv2d: { tiled: ['conv_tiled.wgsl', 'gemm_tiles.wgsl'], direct: ['conv_vec4.wgsl', 'conv2d.wgsl'] },
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

/**
 * 'tiled' on hardware GPUs, 'direct' on CPU implementations; the environment
 * variable WGRAD_KERNELS=tiled|direct|auto overrides it (to compare the two,
 * or to test the tiled kernels on a CPU). Read once per device.
 */
export function kernelFamily(device: Pick<Device, 'description'>): KernelFamily {
  let family = families.get(device);
  if (!family) {
    const choice = parseFamilyChoice(process.env.WGRAD_KERNELS);
    family = choice === 'auto' ? (device.description.kind === 'gpu' ? 'tiled' : 'direct') : choice;
    families.set(device, family);
  }
  return family;
}

/** Pins a device's family, overriding the adapter default and WGRAD_KERNELS (tests, benchmarks). */
export function useKernelFamily(device: Pick<Device, 'description'>, family: KernelFamily): void {
  families.set(device, family);
}
