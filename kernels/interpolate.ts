// Launchers for kernels/interpolate.wgsl: bilinear resize (align_corners=False)
// of NCHW planes, and its gradient.

import { Kernel, f32bits, groups1d, launch, wgsl, type Operand } from '../engine/kernel.ts';

const source = wgsl('interpolate.wgsl');
const WG = 256;

function kernel(entryPoint: string): Kernel {
  return new Kernel({ name: `interpolate.${entryPoint}`, source, entryPoint, bindings: ['read', 'write'], params: true, workgroupSize: [WG] });
}
const forwardKernel = kernel('forward');
const backwardKernel = kernel('backward');

/** The parameter struct for resizing planes of shape `input` to `output` (both NCHW). */
function params(invocations: number, input: readonly number[], output: readonly number[]): number[] {
  const [inH, inW] = [input[2], input[3]];
  const [outH, outW] = [output[2], output[3]];
  return [invocations, inH, inW, outH, outW, f32bits(inH / outH), f32bits(inW / outW), f32bits(outH / inH), f32bits(outW / inW)];
}

/** y = resize(x) to y's spatial size. */
export function bilinear(x: Operand, y: Operand): void {
  launch(x.device, forwardKernel, { buffers: [x.range(), y.range()], params: params(y.size, x.shape, y.shape), groups: groups1d(y.size, WG) });
}

/** dx = the gradient of resize(x) given dy. */
export function bilinearBackward(dy: Operand, dx: Operand): void {
  launch(dy.device, backwardKernel, { buffers: [dy.range(), dx.range()], params: params(dx.size, dx.shape, dy.shape), groups: groups1d(dx.size, WG) });
}
