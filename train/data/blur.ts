// Synthetic camera-shake blur for training pairs made from sharp photos.
//
// Kernels follow Boracchi and Foi (2012), as in DeblurGAN's blur generator: a particle walks a
// random trajectory whose velocity is nudged at every step by Gaussian shake, pulled back by a
// centripetal term and, rarely, flipped by an impulsive shake; the velocity is renormalised each
// step so the path length is set in advance. The first `exposure` fraction of the path is splatted
// bilinearly onto a k×k grid.
//
// Unlike DeblurGAN, the kernel is centred: the path is moved (and, if it would not fit, shrunk
// about its centre of mass) so that its centre of mass sits exactly on the kernel centre. Bilinear
// splatting keeps a point's first moment, so the kernel's centre of mass is the path's, and a
// blurred image stays aligned with its sharp partner pixel for pixel.
//
// Blurring happens in linear light (camera sensors integrate light, not sRGB code values), over
// the valid region only, so no padding ever leaks into the training data.

import { Random } from '../../engine/node/index.ts';

export interface KernelOptions {
  /** Path length in pixels before the exposure cut; default uniform in [0.2, 1.5]·(size − 1). */
  length?: number;
  /** DeblurGAN's `expl`: how strongly the path wanders; default uniform in [0.001, 0.01]. */
  anxiety?: number;
  /** Fraction of the path the shutter sees, in (0, 1]; default uniform in [0.5, 1]. */
  exposure?: number;
  /** Path samples; default 2000 (as DeblurGAN), enough that the splatted path has no gaps. */
  iters?: number;
}

/**
 * A random camera-shake kernel: size×size, row-major, non-negative, summing to 1 and with its
 * centre of mass at ((size−1)/2, (size−1)/2). `size` must be odd so the centre is a pixel.
 * Consumes a fixed number of draws from `rng` for a given `iters`.
 */
export function randomKernel(rng: Random, size: number, options: KernelOptions = {}): Float32Array {
  if (!Number.isInteger(size) || size < 1 || size % 2 === 0) {
    throw new RangeError(`randomKernel: size must be an odd positive integer (so the kernel centre is a pixel), got ${size}`);
  }
  const iters = options.iters ?? 2000;
  if (!Number.isInteger(iters) || iters < 2) throw new RangeError(`randomKernel: iters must be an integer ≥ 2, got ${iters}`);
  // Draw every default even when the caller overrides it, so the stream stays aligned.
  const defaultLength = rng.uniform(0.2, 1.5) * (size - 1);
  const defaultAnxiety = rng.uniform(0.001, 0.01);
  const defaultExposure = rng.uniform(0.5, 1);
  const length = options.length ?? defaultLength;
  const anxiety = options.anxiety ?? defaultAnxiety;
  const exposure = options.exposure ?? defaultExposure;
  if (!(length >= 0)) throw new RangeError(`randomKernel: length must be ≥ 0, got ${length}`);
  if (!(anxiety >= 0)) throw new RangeError(`randomKernel: anxiety must be ≥ 0, got ${anxiety}`);
  if (!(exposure > 0 && exposure <= 1)) throw new RangeError(`randomKernel: exposure must be in (0, 1], got ${exposure}`);

  const { xs, ys } = trajectory(rng, iters, length, anxiety);

  // Shutter: whole samples up to the cut, then the fractional one.
  const cut = exposure * (iters - 1);
  const weights = new Float64Array(iters);
  for (let t = 0; t < iters; t++) weights[t] = Math.min(1, Math.max(0, cut - t + 1));

  let total = 0;
  let cx = 0;
  let cy = 0;
  for (let t = 0; t < iters; t++) {
    total += weights[t];
    cx += weights[t] * xs[t];
    cy += weights[t] * ys[t];
  }
  cx /= total;
  cy /= total;
  let reach = 0;
  for (let t = 0; t < iters; t++) {
    if (weights[t] > 0) reach = Math.max(reach, Math.abs(xs[t] - cx), Math.abs(ys[t] - cy));
  }
  const half = (size - 1) / 2;
  // A hair inside the border so rounding never pushes a sample off the grid.
  const scale = reach > 0 ? Math.min(1, (half * (1 - 1e-12)) / reach) : 1;

  const psf = new Float64Array(size * size);
  if (size === 1) {
    psf[0] = 1;
  } else {
    for (let t = 0; t < iters; t++) {
      const w = weights[t];
      if (w === 0) continue;
      const x = half + (xs[t] - cx) * scale;
      const y = half + (ys[t] - cy) * scale;
      const x0 = Math.min(size - 2, Math.max(0, Math.floor(x)));
      const y0 = Math.min(size - 2, Math.max(0, Math.floor(y)));
      const fx = x - x0;
      const fy = y - y0;
      psf[y0 * size + x0] += w * (1 - fx) * (1 - fy);
      psf[y0 * size + x0 + 1] += w * fx * (1 - fy);
      psf[(y0 + 1) * size + x0] += w * (1 - fx) * fy;
      psf[(y0 + 1) * size + x0 + 1] += w * fx * fy;
    }
  }
  let sum = 0;
  for (let i = 0; i < psf.length; i++) sum += psf[i];
  const kernel = new Float32Array(size * size);
  for (let i = 0; i < psf.length; i++) kernel[i] = psf[i] / sum;
  return kernel;
}

/** DeblurGAN's `max_len`, the path length its shake parameters were tuned for. */
const DEBLURGAN_LENGTH = 60;

/** Boracchi–Foi random walk of `iters` points (x right, y down) with total length `length`. */
function trajectory(rng: Random, iters: number, length: number, anxiety: number): { xs: Float64Array; ys: Float64Array } {
  const centripetal = 0.7 * rng.next();
  const bigShakeChance = 0.2 * rng.next() * anxiety;
  const gaussianShake = 10 * rng.next();
  const angle = 2 * Math.PI * rng.next();
  const step = length / (iters - 1);
  let vx = Math.cos(angle);
  let vy = Math.sin(angle);
  const xs = new Float64Array(iters);
  const ys = new Float64Array(iters);
  for (let t = 0; t < iters - 1; t++) {
    let dx = 0;
    let dy = 0;
    const shakeDraw = rng.next();
    const shakeAngle = Math.PI + (rng.next() - 0.5);
    if (shakeDraw < bigShakeChance) {
      // An impulsive shake turns the velocity roughly around (a rotation by π ± 0.5 rad, doubled).
      dx = 2 * (vx * Math.cos(shakeAngle) - vy * Math.sin(shakeAngle));
      dy = 2 * (vx * Math.sin(shakeAngle) + vy * Math.cos(shakeAngle));
    }
    // Velocity is kept as a unit direction, so DeblurGAN's terms are divided by its step length.
    // Its centripetal pull uses the position in pixels of a 60-pixel path; measuring positions
    // in that unit makes the path's shape independent of the length asked for.
    const px = length > 0 ? (xs[t] * DEBLURGAN_LENGTH) / length : 0;
    const py = length > 0 ? (ys[t] * DEBLURGAN_LENGTH) / length : 0;
    dx += anxiety * (gaussianShake * rng.normal() - centripetal * px);
    dy += anxiety * (gaussianShake * rng.normal() - centripetal * py);
    const nx = vx + dx;
    const ny = vy + dy;
    const norm = Math.hypot(nx, ny);
    if (norm > 0) {
      vx = nx / norm;
      vy = ny / norm;
    }
    xs[t + 1] = xs[t] + vx * step;
    ys[t + 1] = ys[t] + vy * step;
  }
  return { xs, ys };
}

/** The standard sRGB transfer function (IEC 61966-2-1), code value → linear light. */
export function srgbToLinear(c: number): number {
  return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
}

/** Linear light → sRGB code value; input clamped to [0, 1]. */
export function linearToSrgb(l: number): number {
  if (!(l > 0)) return 0;
  if (l >= 1) return 1;
  return l <= 0.0031308 ? 12.92 * l : 1.055 * Math.pow(l, 1 / 2.4) - 0.055;
}

// The transfer functions dominate the cost of a blur (one pow per sample), so both go through
// tables. Decoding is exact: PNG samples are k/255 or k/65535 (k/255 = 257k/65535), so one
// 16-bit table covers both, and any other value takes the formula. Encoding interpolates a fine
// table linearly; its largest error, near the dark end of the power segment, is below 1e-6,
// far below an 8-bit step (4e-3).
const DECODE_LEVELS = 65535;
const ENCODE_STEPS = 65536;
let decodeTable: Float32Array | undefined;
let encodeTable: Float64Array | undefined;

function decodeInto(src: Float32Array, dst: Float32Array): void {
  if (!decodeTable) {
    decodeTable = new Float32Array(DECODE_LEVELS + 1);
    for (let q = 0; q <= DECODE_LEVELS; q++) decodeTable[q] = srgbToLinear(q / DECODE_LEVELS);
  }
  const table = decodeTable;
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    const q = Math.round(v * DECODE_LEVELS);
    dst[i] = q >= 0 && q <= DECODE_LEVELS && Math.fround(q / DECODE_LEVELS) === v ? table[q] : srgbToLinear(v);
  }
}

function encode(l: number): number {
  if (!(l > 0.0031308)) return l > 0 ? 12.92 * l : 0;
  if (l >= 1) return 1;
  if (!encodeTable) {
    encodeTable = new Float64Array(ENCODE_STEPS + 2);
    for (let i = 0; i <= ENCODE_STEPS + 1; i++) encodeTable[i] = linearToSrgb(Math.min(1, i / ENCODE_STEPS));
  }
  const x = l * ENCODE_STEPS;
  const i = Math.floor(x);
  return encodeTable[i] + (x - i) * (encodeTable[i + 1] - encodeTable[i]);
}

export interface BlurOptions {
  /** Std of Gaussian noise added after blurring, in [0,1] units; default 0 (needs `rng` if > 0). */
  noiseStd?: number;
  rng?: Random;
}

export interface PlanarImage {
  rgb: Float32Array;
  h: number;
  w: number;
}

/**
 * Blurs planar sRGB `rgb` [3,h,w] by `kernel` (k×k, row-major): sRGB decode, true 2-D convolution
 * (the kernel is flipped, as a PSF acts) over the valid region only, sRGB encode, then Gaussian
 * noise and a clamp to [0,1]. The result is (h−k+1)×(w−k+1); its sharp partner is
 * `validCrop(rgb, h, w, k)`. Crop the input to the region you need first: the cost is
 * output pixels × non-zero kernel taps.
 */
export function blurImage(rgb: Float32Array, h: number, w: number, kernel: Float32Array, k: number, options: BlurOptions = {}): PlanarImage {
  if (!Number.isInteger(k) || k < 1 || kernel.length !== k * k) {
    throw new RangeError(`blurImage: kernel has ${kernel.length} values, expected k×k with k = ${k}`);
  }
  if (rgb.length !== 3 * h * w) throw new RangeError(`blurImage: rgb has ${rgb.length} values, expected 3×${h}×${w} = ${3 * h * w}`);
  if (h < k || w < k) throw new RangeError(`blurImage: image ${h}×${w} is smaller than the ${k}×${k} kernel`);
  const noiseStd = options.noiseStd ?? 0;
  if (!(noiseStd >= 0)) throw new RangeError(`blurImage: noiseStd must be ≥ 0, got ${noiseStd}`);
  if (noiseStd > 0 && !options.rng) throw new RangeError('blurImage: noiseStd > 0 needs an rng (noise must be seeded)');

  const oh = h - k + 1;
  const ow = w - k + 1;
  const taps: { offset: number; weight: number }[] = [];
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const weight = kernel[i * k + j];
      // Convolution: output (y, x) sees input (y + k−1−i, x + k−1−j) through tap (i, j).
      if (weight !== 0) taps.push({ offset: (k - 1 - i) * w + (k - 1 - j), weight });
    }
  }
  const linear = new Float32Array(h * w);
  const acc = new Float64Array(oh * ow);
  const out = new Float32Array(3 * oh * ow);
  for (let c = 0; c < 3; c++) {
    const plane = c * h * w;
    decodeInto(rgb.subarray(plane, plane + h * w), linear);
    acc.fill(0);
    for (const { offset, weight } of taps) {
      for (let y = 0; y < oh; y++) {
        const src = y * w + offset;
        const dst = y * ow;
        for (let x = 0; x < ow; x++) acc[dst + x] += weight * linear[src + x];
      }
    }
    const outPlane = c * oh * ow;
    for (let i = 0; i < oh * ow; i++) out[outPlane + i] = encode(acc[i]);
  }
  if (noiseStd > 0) {
    const rng = options.rng!;
    // Box–Muller gives two independent normals per pair of uniforms; use both.
    for (let i = 0; i < out.length; i += 2) {
      const r = noiseStd * Math.sqrt(-2 * Math.log(1 - rng.next()));
      const theta = 2 * Math.PI * rng.next();
      out[i] = Math.min(1, Math.max(0, out[i] + r * Math.cos(theta)));
      if (i + 1 < out.length) out[i + 1] = Math.min(1, Math.max(0, out[i + 1] + r * Math.sin(theta)));
    }
  }
  return { rgb: out, h: oh, w: ow };
}

/** The sharp partner of `blurImage(rgb, h, w, kernel, k)`: the centre (h−k+1)×(w−k+1) region. */
export function validCrop(rgb: Float32Array, h: number, w: number, k: number): PlanarImage {
  const margin = (k - 1) / 2;
  if (!Number.isInteger(margin)) throw new RangeError(`validCrop: k must be odd, got ${k}`);
  return { rgb: cropPlanar(rgb, h, w, margin, margin, h - k + 1, w - k + 1), h: h - k + 1, w: w - k + 1 };
}

/** The [3, outH, outW] window of planar `rgb` [3,h,w] whose top-left corner is (top, left). */
export function cropPlanar(rgb: Float32Array, h: number, w: number, top: number, left: number, outH: number, outW: number): Float32Array {
  if (top < 0 || left < 0 || outH < 0 || outW < 0 || top + outH > h || left + outW > w) {
    throw new RangeError(`cropPlanar: window ${outH}×${outW} at (${top}, ${left}) does not fit in ${h}×${w}`);
  }
  const out = new Float32Array(3 * outH * outW);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < outH; y++) {
      const src = c * h * w + (top + y) * w + left;
      out.set(rgb.subarray(src, src + outW), (c * outH + y) * outW);
    }
  }
  return out;
}
