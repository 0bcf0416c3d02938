// Whole-image and tiled inference for any image size.
//
// Any H×W is replicate-padded at the bottom/right to the size rule (§2) and
// cropped back. Large images run tile by tile: tiles overlap and are blended
// with linear ramps across the overlap, so memory stays bounded by the tile
// size and no seams show. ALFM's attention is global over the image, so only a
// whole-image run (tile 0) matches another framework exactly.

import { Tensor, noGrad, tidy, type Device } from '../engine/index.ts';
import { LMFN, modelSize } from './lmfn.ts';

export interface DeblurOptions {
  /** Tile edge in pixels (a multiple of 16, ≥ 64); 0 runs the whole image at once. */
  tile: number;
  /** Overlap between neighbouring tiles in pixels. */
  overlap?: number;
  onTile?: (done: number, total: number) => void;
}

/** Bytes of LMFN's largest activation at a model size: 64 channels at full size, float32. */
const largestActivation = (h: number, w: number) => 64 * h * w * 4;

/**
 * The tile for an H×W image on this device: 0 (the whole image at once) when
 * LMFN's largest activation fits one storage binding, else the largest square
 * tile whose activations do (fewer, larger tiles: less overlap recomputed, and
 * closer to the whole-image result, since ALFM attends over the whole tile).
 * On llvmpipe's 128 MiB bindings a 720×1280 image runs as two 720×720 tiles.
 */
export function autoTile(device: Pick<Device, 'limits'>, h: number, w: number): number {
  const [ph, pw] = modelSize(h, w);
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, 2 ** 30);
  if (largestActivation(ph, pw) <= limit) return 0;
  const side = Math.floor(Math.sqrt(limit / largestActivation(1, 1)) / 16) * 16;
  return Math.max(64, side);
}

/** Replicate-pads a planar [3,H,W] image at the bottom/right to ph×pw. */
export function padPlanar(rgb: Float32Array, h: number, w: number, ph: number, pw: number): Float32Array {
  const out = new Float32Array(3 * ph * pw);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < ph; y++) {
      const src = (c * h + Math.min(y, h - 1)) * w;
      const dst = (c * ph + y) * pw;
      out.set(rgb.subarray(src, src + w), dst);
      out.fill(rgb[src + w - 1], dst + w, dst + pw);
    }
  }
  return out;
}

/** Copies the top-left h×w window of a planar [3,H,W] image at (y0, x0). */
function window(rgb: Float32Array, H: number, W: number, y0: number, x0: number, h: number, w: number): Float32Array {
  const out = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < h; y++) {
      const src = (c * H + y0 + y) * W + x0;
      out.set(rgb.subarray(src, src + w), (c * h + y) * w);
    }
  }
  return out;
}

/** Tile origins covering `extent` with tiles of `tile` and at least `overlap` shared pixels. */
export function tileStarts(extent: number, tile: number, overlap: number): number[] {
  if (tile >= extent) return [0];
  const stride = tile - overlap;
  const starts: number[] = [];
  for (let s = 0; s + tile < extent; s += stride) starts.push(s);
  starts.push(extent - tile);
  return starts;
}

/** Blend weight along one axis of a tile: ramps up over the overlap where a neighbour shares it. */
function ramp(length: number, overlap: number, before: boolean, after: boolean): Float32Array {
  const r = new Float32Array(length).fill(1);
  for (let i = 0; i < overlap && i < length; i++) {
    const v = (i + 0.5) / overlap;
    if (before) r[i] = Math.min(r[i], v);
    if (after) r[length - 1 - i] = Math.min(r[length - 1 - i], v);
  }
  return r;
}

async function runModel(model: LMFN, rgb: Float32Array, h: number, w: number): Promise<Float32Array> {
  const out = noGrad(() => tidy(() => model.forward(Tensor.fromData(model.device, rgb, [1, 3, h, w]))));
  const values = await out.read();
  out.dispose();
  return values;
}

/** Deblurs a planar [3,H,W] RGB image of any size; returns planar [3,H,W] (unclamped). */
export async function deblur(model: LMFN, rgb: Float32Array, h: number, w: number, options: DeblurOptions): Promise<Float32Array> {
  const [ph, pw] = modelSize(h, w);
  const padded = padPlanar(rgb, h, w, ph, pw);
  let result: Float32Array;
  const tile = options.tile;
  if (tile === 0 || (tile >= ph && tile >= pw)) {
    options.onTile?.(0, 1);
    result = await runModel(model, padded, ph, pw);
    options.onTile?.(1, 1);
  } else {
    if (tile % 16 || tile < 64) throw new RangeError(`tile size ${tile} must be 0 or a multiple of 16 that is at least 64`);
    const th = Math.min(tile, ph);
    const tw = Math.min(tile, pw);
    const overlap = Math.min(options.overlap ?? 32, Math.floor(tile / 2));
    const ys = tileStarts(ph, th, overlap);
    const xs = tileStarts(pw, tw, overlap);
    const acc = new Float32Array(3 * ph * pw);
    const weight = new Float32Array(ph * pw);
    let done = 0;
    for (const [iy, y0] of ys.entries()) {
      const ry = ramp(th, Math.min(overlap, th), iy > 0, iy < ys.length - 1);
      for (const [ix, x0] of xs.entries()) {
        const rx = ramp(tw, Math.min(overlap, tw), ix > 0, ix < xs.length - 1);
        options.onTile?.(done, ys.length * xs.length);
        const out = await runModel(model, window(padded, ph, pw, y0, x0, th, tw), th, tw);
        for (let y = 0; y < th; y++) {
          for (let x = 0; x < tw; x++) {
            const wgt = ry[y] * rx[x];
            const p = (y0 + y) * pw + x0 + x;
            weight[p] += wgt;
            for (let c = 0; c < 3; c++) acc[c * ph * pw + p] += wgt * out[(c * th + y) * tw + x];
          }
        }
        done++;
      }
    }
    options.onTile?.(done, done);
    for (let c = 0; c < 3; c++) for (let p = 0; p < ph * pw; p++) acc[c * ph * pw + p] /= weight[p];
    result = acc;
  }
  return ph === h && pw === w ? result : window(result, ph, pw, 0, 0, h, w);
}
