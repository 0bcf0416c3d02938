// Launcher for kernels/reduce.wgsl: scaled sums over any set of axes.

import { Kernel, f32bits, groups1d, launch, wgsl, type Operand, Scratch } from '../engine/kernel.ts';
import { ShapeError, formatShape } from '../engine/errors.ts';

const WG = 64;
const sumKernel = new Kernel({
  name: 'reduce.sum',
  source: wgsl('reduce.wgsl'),
  entryPoint: 'sum',
  bindings: ['read', 'write'],
  params: true,
  workgroupSize: [WG],
});

interface Axis {
  extent: number;
  stride: number;
}

/** Splits the axes into kept and reduced groups, merging neighbours that are contiguous in memory. */
export function planReduction(shape: readonly number[], reduce: ReadonlySet<number>) {
  const kept: Axis[] = [];
  const red: Axis[] = [];
  let stride = 1;
  let lastRole: boolean | null = null;
  for (let d = shape.length - 1; d >= 0; d--) {
    const isRed = reduce.has(d);
    const list = isRed ? red : kept;
    const extent = shape[d];
    if (extent !== 1) {
      const inner = list[0];
      // Adjacent (in memory) to the previous axis of the same role: merge.
      if (lastRole === isRed && inner && inner.stride * inner.extent === stride) inner.extent *= extent;
      else list.unshift({ extent, stride });
      lastRole = isRed;
    }
    stride *= extent;
  }
  return { kept, red };
}

function vec4(axes: Axis[], key: 'extent' | 'stride'): number[] {
  const v = axes.map((a) => a[key]);
  while (v.length < 4) v.push(key === 'extent' ? 1 : 0);
  return v;
}

function launchSum(src: Operand, dst: Operand, kept: Axis[], red: Axis[], splits: number, scale: number): void {
  const outputs = kept.reduce((n, a) => n * a.extent, 1);
  const reduced = red.reduce((n, a) => n * a.extent, 1);
  const chunk = Math.ceil(reduced / splits);
  launch(src.device, sumKernel, {
    buffers: [src.range(), dst.range()],
    params: [
      outputs, reduced, splits, chunk, kept.length, red.length, f32bits(scale), 0,
      ...vec4(kept, 'extent'), ...vec4(kept, 'stride'), ...vec4(red, 'extent'), ...vec4(red, 'stride'),
    ],
    groups: groups1d(outputs * splits, 1),
  });
}

/**
 * out = scale · sum of `x` over `axes`; `out` has x's size with those axes
 * removed (or set to 1). Records one or two dispatches.
 */
export function sumAxes(x: Operand, axes: readonly number[], out: Operand, scale = 1): void {
  const { kept, red } = planReduction(x.shape, new Set(axes));
  if (kept.length > 4 || red.length > 4) {
    throw new ShapeError(`sum: reducing axes [${axes.join(',')}] of ${formatShape(x.shape)} interleaves more than 4 kept or 4 reduced axis groups`);
  }
  const outputs = kept.reduce((n, a) => n * a.extent, 1);
  const reduced = red.reduce((n, a) => n * a.extent, 1);
  // Enough workgroups to fill the device, each thread summing at least ~16 values.
  const splits = Math.max(1, Math.min(Math.ceil(reduced / (WG * 16)), Math.ceil(4096 / outputs)));
  if (splits === 1) {
    launchSum(x, out, kept, red, 1, scale);
    return;
  }
  const partials = new Scratch(x.device, [outputs, splits]);
  launchSum(x, partials, kept, red, splits, 1);
  launchSum(partials, out, [{ extent: outputs, stride: splits }], [{ extent: splits, stride: 1 }], 1, scale);
  partials.release();
}
