// Float64 CPU reference for bilinear interpolation, a plain loop straight from the definition
// (PyTorch semantics; LMFN.md §7.2). NCHW layout, row-major.

import type { Shape4 } from './nchw.ts';

/** The two source indices and the weight of the second, for output index `dst` along one axis. */
function bilinearTap(dst: number, sizeIn: number, sizeOut: number): [i0: number, i1: number, lambda: number] {
  const scale = sizeIn / sizeOut;
  const src = Math.max(0, (dst + 0.5) * scale - 0.5);
  const i0 = Math.floor(src);
  const i1 = Math.min(i0 + 1, sizeIn - 1);
  return [i0, i1, src - i0];
}

/** F.interpolate(x, size=[outH, outW], mode='bilinear', align_corners=False). */
export function bilinearRef(x: Float64Array, [n, c, h, w]: Shape4, [outH, outW]: [number, number]): Float64Array {
  const out = new Float64Array(n * c * outH * outW);
  for (let p = 0; p < n * c; p++)
    for (let oy = 0; oy < outH; oy++) {
      const [y0, y1, ly] = bilinearTap(oy, h, outH);
      for (let ox = 0; ox < outW; ox++) {
        const [x0, x1, lx] = bilinearTap(ox, w, outW);
        const at = (y: number, xx: number) => x[(p * h + y) * w + xx];
        const top = (1 - lx) * at(y0, x0) + lx * at(y0, x1);
        const bottom = (1 - lx) * at(y1, x0) + lx * at(y1, x1);
        out[(p * outH + oy) * outW + ox] = (1 - ly) * top + ly * bottom;
      }
    }
  return out;
}
