// Float64 CPU reference for padReplicate and crop, a plain loop straight from the definition
// (PyTorch semantics; LMFN.md §7.2). NCHW layout, row-major.

import type { Shape4 } from './nchw.ts';

/** F.pad(x, [left, right, top, bottom], mode='replicate'). */
export function padReplicateRef(x: Float64Array, [n, c, h, w]: Shape4, [left, right, top, bottom]: number[]): Float64Array {
  const outH = h + top + bottom;
  const outW = w + left + right;
  const out = new Float64Array(n * c * outH * outW);
  const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  for (let p = 0; p < n * c; p++)
    for (let y = 0; y < outH; y++)
      for (let xx = 0; xx < outW; xx++) {
        out[(p * outH + y) * outW + xx] = x[(p * h + clamp(y - top, h - 1)) * w + clamp(xx - left, w - 1)];
      }
  return out;
}

/** x[:, :, top:top+height, left:left+width]. */
export function cropRef(x: Float64Array, [n, c, h, w]: Shape4, top: number, left: number, height: number, width: number): Float64Array {
  const out = new Float64Array(n * c * height * width);
  for (let p = 0; p < n * c; p++)
    for (let y = 0; y < height; y++)
      for (let xx = 0; xx < width; xx++) out[(p * height + y) * width + xx] = x[(p * h + top + y) * w + left + xx];
  return out;
}
