// Which kernel family runs the GEMM-shaped ops (conv2d, matmul) on a device:
// 'tiled' (workgroup-memory tiles, gemm_tiles.wgsl: what GPUs need) or
// 'direct' (register blocks without workgroup memory: conv_vec4.wgsl,
// conv2d.wgsl, matmul.wgsl; on llvmpipe, where workgroup memory is plain RAM
// and barriers are costly, 3–6× faster than the tiled kernels).

import type { Device } from '../engine/device.ts';
import { EngineError } from '../engine/errors.ts';

export type KernelFamily = 'tiled' | 'direct';
const families = new WeakMap<Pick<Device, 'description'>, KernelFamily>();

/**
 * 'tiled' on GPU adapters, 'direct' on the CPU adapter; the environment
 * variable WGRAD_KERNELS=tiled|direct|auto overrides it (to compare the two,
 * or to test the tiled kernels on llvmpipe). Read once per device.
 */
export function kernelFamily(device: Pick<Device, 'description'>): KernelFamily {
  let family = families.get(device);
  if (!family) {
    const choice = (process.env.WGRAD_KERNELS ?? 'auto').toLowerCase();
    if (choice !== 'auto' && choice !== 'tiled' && choice !== 'direct') {
      throw new EngineError(`WGRAD_KERNELS must be 'auto', 'tiled' or 'direct', got '${process.env.WGRAD_KERNELS}'`);
    }
    family = choice === 'auto' ? (device.description.kind === 'gpu' ? 'tiled' : 'direct') : choice;
    families.set(device, family);
  }
  return family;
}

/** Pins a device's family, overriding the adapter default and WGRAD_KERNELS (tests, benchmarks). */
export function useKernelFamily(device: Pick<Device, 'description'>, family: KernelFamily): void {
  families.set(device, family);
}
