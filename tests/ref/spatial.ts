// Float64 CPU references for the spatial and shape ops, written as plain
// loops straight from the definitions (PyTorch semantics; LMFN.md §7.2).
// NCHW layout, row-major.

export type Shape4 = [n: number, c: number, h: number, w: number];

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

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

/** Multi-index ↔ linear index helpers for the any-rank references below. */
function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}
function ravel(idx: readonly number[], shape: readonly number[]): number {
  let i = 0;
  for (let d = 0; d < shape.length; d++) i = i * shape[d] + idx[d];
  return i;
}

/** torch.cat(xs, dim) for any rank; `dim` is already non-negative. */
export function catRef(xs: Float64Array[], shapes: number[][], dim: number): Float64Array {
  const outShape = [...shapes[0]];
  outShape[dim] = shapes.reduce((s, sh) => s + sh[dim], 0);
  const out = new Float64Array(size(outShape));
  let offset = 0;
  xs.forEach((x, k) => {
    for (let i = 0; i < x.length; i++) {
      const idx = unravel(i, shapes[k]);
      idx[dim] += offset;
      out[ravel(idx, outShape)] = x[i];
    }
    offset += shapes[k][dim];
  });
  return out;
}

/** x.narrow(dim, start, end − start) for any rank; `dim` is already non-negative. */
export function sliceRef(x: Float64Array, shape: number[], dim: number, start: number, end: number): Float64Array {
  const outShape = [...shape];
  outShape[dim] = end - start;
  const out = new Float64Array(size(outShape));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, outShape);
    idx[dim] += start;
    out[i] = x[ravel(idx, shape)];
  }
  return out;
}
