// Launchers for kernels/max_pool2d.wgsl: 2-D max-pool (no padding, floor mode) with
// saved argmax, and its gradient.

import { Kernel, groups1d, launch, wgsl, type Operand } from '../engine/kernel.ts';

const source = wgsl('max_pool2d.wgsl');
const WG = 256;

const forwardKernel = new Kernel({
  name: 'max_pool2d.forward',
  source,
  entryPoint: 'forward',
  bindings: ['read', 'write', 'write'],
  params: true,
  workgroupSize: [WG],
});
const backwardKernel = new Kernel({
  name: 'max_pool2d.backward',
  source,
  entryPoint: 'backward',
  bindings: ['read', 'read', 'write'],
  params: true,
  workgroupSize: [WG],
});

function params(invocations: number, input: readonly number[], output: readonly number[], kernel: number, stride: number): number[] {
  return [invocations, input[2], input[3], output[2], output[3], kernel, stride];
}

/** y = max over each k×k window of x; `argmax` (y's shape) gets each window's offset ky·k + kx. */
export function maxPool(x: Operand, y: Operand, argmax: Operand, kernel: number, stride: number): void {
  launch(x.device, forwardKernel, {
    buffers: [x.range(), y.range(), argmax.range()],
    params: params(y.size, x.shape, y.shape, kernel, stride),
    groups: groups1d(y.size, WG),
  });
}

/** dx = dy routed to each window's saved argmax. */
export function maxPoolBackward(argmax: Operand, dy: Operand, dx: Operand, kernel: number, stride: number): void {
  launch(dy.device, backwardKernel, {
    buffers: [argmax.range(), dy.range(), dx.range()],
    params: params(dx.size, dx.shape, dy.shape, kernel, stride),
    groups: groups1d(dx.size, WG),
  });
}
