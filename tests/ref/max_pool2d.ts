// Float64 CPU reference for maxPool2d, a plain loop straight from the definition
// (PyTorch semantics; LMFN.md §7.2). NCHW layout, row-major.

import type { Shape4 } from './nchw.ts';

/** F.max_pool2d(x, k, stride), no padding; the first maximum in row-major order wins ties. */
export function maxPoolRef(x: Float64Array, [n, c, h, w]: Shape4, k: number, stride: number): Float64Array {
  const outH = Math.floor((h - k) / stride) + 1;
  const outW = Math.floor((w - k) / stride) + 1;
  const out = new Float64Array(n * c * outH * outW);
  for (let p = 0; p < n * c; p++)
    for (let oy = 0; oy < outH; oy++)
      for (let ox = 0; ox < outW; ox++) {
        let best = -Infinity;
        for (let ky = 0; ky < k; ky++)
          for (let kx = 0; kx < k; kx++) best = Math.max(best, x[(p * h + oy * stride + ky) * w + ox * stride + kx]);
        out[(p * outH + oy) * outW + ox] = best;
      }
  return out;
}
