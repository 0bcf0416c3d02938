// Launchers for kernels/pixel_shuffle.wgsl: pixel shuffle and unshuffle, one
// invocation per element.

import { Kernel, groups1d, launch, wgsl, type Operand } from '../engine/kernel.ts';

const source = wgsl('pixel_shuffle.wgsl');
const WG = 256;

const [shuffleKernel, unshuffleKernel] = [0, 1].map(
  (UNSHUFFLE) =>
    new Kernel({
      name: 'pixel_shuffle.pixel_shuffle',
      source,
      entryPoint: 'pixel_shuffle',
      bindings: ['read', 'write'],
      params: true,
      workgroupSize: [WG],
      constants: { UNSHUFFLE },
    }),
);

function run(kernel: Kernel, src: Operand, dst: Operand, small: readonly number[], r: number): void {
  launch(src.device, kernel, {
    buffers: [src.range(), dst.range()],
    params: [src.size, small[2], small[3], r],
    groups: groups1d(src.size, WG),
  });
}

/** `small` [N, C·r², H, W] → `big` [N, C, H·r, W·r]. */
export function pixelShuffle(small: Operand, big: Operand, r: number): void {
  run(shuffleKernel, small, big, small.shape, r);
}

/** `big` [N, C, H·r, W·r] → `small` [N, C·r², H, W]. */
export function pixelUnshuffle(big: Operand, small: Operand, r: number): void {
  run(unshuffleKernel, big, small, small.shape, r);
}
