// Launcher for kernels/softmax.wgsl: softmax(scale·x) along the innermost axis.

import { Kernel, f32bits, groups1d, launch, wgsl, type Operand } from '../engine/kernel.ts';

const source = wgsl('softmax.wgsl');
const WG = 64;

function kernel(entryPoint: string, bindings: Kernel['spec']['bindings']) {
  return new Kernel({ name: `softmax.${entryPoint}`, source, entryPoint, bindings, params: true, workgroupSize: [WG] });
}

const forwardKernel = kernel('forward', ['read', 'write']);
const backwardKernel = kernel('backward', ['read', 'read', 'write']);

/** y = softmax(scale·x) over rows of `cols` contiguous values. */
export function softmax(x: Operand, y: Operand, cols: number, scale: number): void {
  const rows = cols === 0 ? 0 : x.size / cols;
  launch(x.device, forwardKernel, { buffers: [x.range(), y.range()], params: [rows, cols, f32bits(scale)], groups: groups1d(rows, 1) });
}

/** dx = scale · y ⊙ (dy − Σ_row dy ⊙ y), from the forward output y. */
export function softmaxBackward(y: Operand, dy: Operand, dx: Operand, cols: number, scale: number): void {
  const rows = cols === 0 ? 0 : y.size / cols;
  launch(y.device, backwardKernel, {
    buffers: [y.range(), dy.range(), dx.range()],
    params: [rows, cols, f32bits(scale)],
    groups: groups1d(rows, 1),
  });
}
