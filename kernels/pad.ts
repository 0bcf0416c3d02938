// Launchers for kernels/pad.wgsl: plane windows (crop, replicate pad, zero
// pad) and the gradient of replicate padding. NCHW tensors.

import { Kernel, groups1d, launch, wgsl, type Operand } from '../engine/kernel.ts';

const source = wgsl('pad.wgsl');
const WG = 256;

export const BORDER = { zero: 0, replicate: 1 } as const;
export type Border = keyof typeof BORDER;

const windowKernels = Object.values(BORDER).map(
  (b) => new Kernel({ name: 'pad.window', source, entryPoint: 'window', bindings: ['read', 'write'], params: true, workgroupSize: [WG], constants: { BORDER: b } }),
);
const replicateBackwardKernel = new Kernel({
  name: 'pad.replicate_pad_backward',
  source,
  entryPoint: 'replicate_pad_backward',
  bindings: ['read', 'write'],
  params: true,
  workgroupSize: [WG],
});

function params(invocations: number, input: readonly number[], output: readonly number[], offsetY: number, offsetX: number): number[] {
  return [invocations, input[2], input[3], output[2], output[3], offsetY, offsetX];
}

/**
 * y[y0, x0] = x[y0 + offsetY, x0 + offsetX] per plane (offsets may be
 * negative); outside x, `border` gives zero or the nearest edge pixel.
 */
export function planeWindow(x: Operand, y: Operand, offsetY: number, offsetX: number, border: Border): void {
  launch(x.device, windowKernels[BORDER[border]], {
    buffers: [x.range(), y.range()],
    params: params(y.size, x.shape, y.shape, offsetY, offsetX),
    groups: groups1d(y.size, WG),
  });
}

/** dx = the gradient of replicate-padding dx's shape to dy's by `top` rows and `left` columns before. */
export function replicatePadBackward(dy: Operand, dx: Operand, top: number, left: number): void {
  launch(dy.device, replicateBackwardKernel, {
    buffers: [dy.range(), dx.range()],
    params: params(dx.size, dx.shape, dy.shape, top, left),
    groups: groups1d(dx.size, WG),
  });
}
