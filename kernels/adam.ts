// Launcher for kernels/adam.wgsl: one Adam update over a parameter arena.

import type { Device } from '../engine/device.ts';
import { Kernel, f32bits, groups1d, launch, wgsl } from '../engine/kernel.ts';
import type { PooledBuffer } from '../engine/pool.ts';

const WG = 256;
const stepKernel = new Kernel({
  name: 'adam.step',
  source: wgsl('adam.wgsl'),
  entryPoint: 'step',
  bindings: ['readwrite', 'read', 'readwrite', 'readwrite'],
  params: true,
  workgroupSize: [WG],
});

/** The four arena buffers; element i of each belongs to the same parameter element. */
export interface AdamArenas {
  param: PooledBuffer;
  grad: PooledBuffer;
  expAvg: PooledBuffer;
  expAvgSq: PooledBuffer;
}

export interface AdamStepScalars {
  /** lr / (1 − β1^t) */
  stepSize: number;
  /** 1 / sqrt(1 − β2^t) */
  invSqrtBiasCorrection2: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/**
 * Updates the first `length` elements (a multiple of 4) of the arenas in
 * place. One dispatch, or one per storage-binding-sized chunk of a larger arena.
 */
export function adamStep(device: Device, arenas: AdamArenas, length: number, s: AdamStepScalars): void {
  // Chunks start at bindable offsets and hold whole vec4s.
  const align = Math.max(16, device.limits.minStorageBufferOffsetAlignment);
  const chunkBytes = Math.floor(device.limits.maxStorageBufferBindingSize / align) * align;
  const scalars = [s.stepSize, s.invSqrtBiasCorrection2, s.beta1, s.beta2, 1 - s.beta1, 1 - s.beta2, s.eps, s.weightDecay].map(f32bits);
  const buffers = [arenas.param, arenas.grad, arenas.expAvg, arenas.expAvgSq];
  for (let offset = 0; offset < length * 4; offset += chunkBytes) {
    const size = Math.min(chunkBytes, length * 4 - offset);
    const n4 = size / 16;
    launch(device, stepKernel, {
      buffers: buffers.map((buf) => ({ buf, offset, size })),
      params: [n4, ...scalars, 0, 0, 0],
      groups: groups1d(n4, WG),
    });
  }
}
