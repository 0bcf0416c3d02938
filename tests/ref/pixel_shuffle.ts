// Float64 CPU reference for pixelShuffle and pixelUnshuffle, a plain loop straight from the definition
// (PyTorch semantics; LMFN.md §7.2). NCHW layout, row-major.

import type { Shape4 } from './nchw.ts';

/** [N, C·r², H, W] → [N, C, H·r, W·r], out[c, r·h+i, r·w+j] = x[r²·c + r·i + j, h, w]. */
export function pixelShuffleRef(x: Float64Array, [n, cIn, h, w]: Shape4, r: number): Float64Array {
  const c = cIn / (r * r);
  const out = new Float64Array(x.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let i = 0; i < r; i++)
          for (let xx = 0; xx < w; xx++)
            for (let j = 0; j < r; j++) {
              const src = ((b * cIn + r * r * ch + r * i + j) * h + y) * w + xx;
              const dst = ((b * c + ch) * h * r + (r * y + i)) * w * r + (r * xx + j);
              out[dst] = x[src];
            }
  return out;
}

/** [N, C, H·r, W·r] → [N, C·r², H, W], the inverse permutation. */
export function pixelUnshuffleRef(x: Float64Array, [n, c, hBig, wBig]: Shape4, r: number): Float64Array {
  const h = hBig / r;
  const w = wBig / r;
  const out = new Float64Array(x.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let i = 0; i < r; i++)
          for (let xx = 0; xx < w; xx++)
            for (let j = 0; j < r; j++) {
              const small = ((b * c * r * r + r * r * ch + r * i + j) * h + y) * w + xx;
              const big = ((b * c + ch) * hBig + (r * y + i)) * wBig + (r * xx + j);
              out[small] = x[big];
            }
  return out;
}
