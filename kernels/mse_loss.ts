// Launchers for kernels/mse_loss.wgsl.

import { Kernel, f32bits, groups1d, launch, wgsl, type Operand, Scratch } from '../engine/kernel.ts';
import { sumAxes } from './reduce.ts';

const source = wgsl('mse_loss.wgsl');
const WG = 256;
const sumKernel = new Kernel({
  name: 'mse_loss.squared_error_sum',
  source,
  entryPoint: 'squared_error_sum',
  bindings: ['read', 'read', 'write'],
  params: true,
  workgroupSize: [WG],
});
const backwardKernel = new Kernel({
  name: 'mse_loss.mse_backward',
  source,
  entryPoint: 'mse_backward',
  bindings: ['read', 'read', 'read', 'write'],
  params: true,
  workgroupSize: [WG],
});

/** At most this many workgroups in the first pass, so the second pass is one small workgroup sum. */
const MAX_SPLITS = 1024;

/** out[0] = scale · Σ (a − b)², for `a`, `b` of equal size. One or two dispatches. */
export function squaredErrorSum(a: Operand, b: Operand, out: Operand, scale: number): void {
  const n = a.size;
  // Each thread sums at least ~16 values before the tree.
  const splits = Math.max(1, Math.min(MAX_SPLITS, Math.ceil(n / (WG * 16))));
  const chunk = Math.ceil(n / splits);
  const partials = splits === 1 ? null : new Scratch(a.device, [splits]);
  launch(a.device, sumKernel, {
    buffers: [a.range(), b.range(), (partials ?? out).range()],
    params: [n, chunk, f32bits(splits === 1 ? scale : 1), 0],
    groups: [splits],
  });
  if (partials) {
    sumAxes(partials, [0], out, scale);
    partials.release();
  }
}

/** d = scale · (a − b) · g[0], elementwise. */
export function squaredErrorBackward(a: Operand, b: Operand, g: Operand, d: Operand, scale: number): void {
  launch(a.device, backwardKernel, {
    buffers: [a.range(), b.range(), g.range(), d.range()],
    params: [d.size, f32bits(scale)],
    groups: groups1d(d.size, WG),
  });
}
