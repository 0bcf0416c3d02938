// Image quality metrics on planar float images, in float64 on the CPU.
//
// Both metrics first clamp every value to [0,1] (to [0,peak] for PSNR): a
// network output is unclamped, and what gets scored is what a saved PNG would
// hold. Values are not rounded to 8 bits.
//
// SSIM is the reference definition of Wang et al. 2004 (MATLAB's ssim_index.m):
// an 11×11 Gaussian window with σ = 1.5, normalised to sum 1; K1 = 0.01,
// K2 = 0.03, L = 1; population (not sample) variances and covariance; the map
// is computed only where the whole window fits inside the image ('valid'
// filtering, so a 5-pixel border is left out on every side) and averaged.
// Colour images are scored per channel and the channel SSIMs averaged.
// skimage's structural_similarity(gaussian_weights=True, sigma=1.5,
// use_sample_covariance=False, data_range=1, channel_axis=0) gives the same
// number: it filters with reflected borders but then crops (win−1)/2 = 5
// pixels, exactly the pixels whose window reaches the reflection.

/** SSIM's Gaussian window: 11 taps, σ = 1.5 (truncated at 3.5σ, like skimage's). */
export const SSIM_WINDOW = 11;
export const SSIM_SIGMA = 1.5;
const K1 = 0.01;
const K2 = 0.03;

function clamp01(v: number, peak = 1): number {
  return v < 0 ? 0 : v > peak ? peak : v;
}

/**
 * Peak signal-to-noise ratio in dB, 10·log10(peak² / MSE), over the first `n`
 * values of `a` and `b` (default: all of them; they must then be the same
 * length). Values are clamped to [0, peak] first. Identical inputs give Infinity.
 */
export function psnr(a: ArrayLike<number>, b: ArrayLike<number>, n?: number, peak = 1): number {
  if (n === undefined) {
    if (a.length !== b.length) throw new RangeError(`psnr: the images have ${a.length} and ${b.length} values`);
    n = a.length;
  }
  if (!Number.isInteger(n) || n < 1 || n > a.length || n > b.length) {
    throw new RangeError(`psnr: n = ${n} must be a positive integer no larger than either image (${a.length}, ${b.length} values)`);
  }
  if (!(peak > 0)) throw new RangeError(`psnr: peak must be positive, got ${peak}`);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const d = clamp01(a[i], peak) - clamp01(b[i], peak);
    sum += d * d;
  }
  const mse = sum / n;
  return mse === 0 ? Infinity : 10 * Math.log10((peak * peak) / mse);
}

/** The normalised 1-D Gaussian whose outer product is SSIM's 2-D window. */
function gaussianTaps(): Float64Array {
  const radius = (SSIM_WINDOW - 1) / 2;
  const taps = Float64Array.from({ length: SSIM_WINDOW }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * SSIM_SIGMA * SSIM_SIGMA)));
  const total = taps.reduce((s, v) => s + v, 0);
  return taps.map((v) => v / total);
}

const TAPS = gaussianTaps();

/**
 * Mean SSIM of two planar [channels,H,W] images (definition in the file
 * comment). Needs H, W ≥ 11. Separable filtering: well under a second for a 720×1280
 * RGB pair.
 */
export function ssim(a: Float32Array, b: Float32Array, h: number, w: number, channels = 3): number {
  const n = channels * h * w;
  if (!Number.isInteger(h) || !Number.isInteger(w) || !Number.isInteger(channels) || channels < 1) {
    throw new RangeError(`ssim: bad image size ${channels}×${h}×${w}`);
  }
  if (a.length !== n || b.length !== n) throw new RangeError(`ssim: images of ${a.length} and ${b.length} values, expected ${channels}×${h}×${w} = ${n}`);
  if (h < SSIM_WINDOW || w < SSIM_WINDOW) throw new RangeError(`ssim: a ${h}×${w} image is smaller than the ${SSIM_WINDOW}×${SSIM_WINDOW} window`);
  let total = 0;
  for (let c = 0; c < channels; c++) total += ssimPlane(a, b, c * h * w, h, w);
  return total / channels;
}

function ssimPlane(a: Float32Array, b: Float32Array, offset: number, h: number, w: number): number {
  const C1 = K1 * K1;
  const C2 = K2 * K2;
  const K = SSIM_WINDOW;
  const ow = w - K + 1;
  const oh = h - K + 1;
  const x = new Float64Array(h * w);
  const y = new Float64Array(h * w);
  for (let i = 0; i < h * w; i++) {
    x[i] = clamp01(a[offset + i]);
    y[i] = clamp01(b[offset + i]);
  }
  // Horizontal pass over full rows ('valid' in x): the five local moments.
  const hx = new Float64Array(h * ow);
  const hy = new Float64Array(h * ow);
  const hxx = new Float64Array(h * ow);
  const hyy = new Float64Array(h * ow);
  const hxy = new Float64Array(h * ow);
  for (let r = 0; r < h; r++) {
    for (let j = 0; j < ow; j++) {
      let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
      const base = r * w + j;
      for (let k = 0; k < K; k++) {
        const g = TAPS[k];
        const xv = x[base + k];
        const yv = y[base + k];
        sx += g * xv;
        sy += g * yv;
        sxx += g * xv * xv;
        syy += g * yv * yv;
        sxy += g * xv * yv;
      }
      const o = r * ow + j;
      hx[o] = sx;
      hy[o] = sy;
      hxx[o] = sxx;
      hyy[o] = syy;
      hxy[o] = sxy;
    }
  }
  // Vertical pass row by row (row-contiguous reads), then the SSIM map, summed.
  const mx = new Float64Array(ow);
  const my = new Float64Array(ow);
  const mxx = new Float64Array(ow);
  const myy = new Float64Array(ow);
  const mxy = new Float64Array(ow);
  let sum = 0;
  for (let i = 0; i < oh; i++) {
    mx.fill(0);
    my.fill(0);
    mxx.fill(0);
    myy.fill(0);
    mxy.fill(0);
    for (let k = 0; k < K; k++) {
      const g = TAPS[k];
      const row = (i + k) * ow;
      for (let j = 0; j < ow; j++) {
        mx[j] += g * hx[row + j];
        my[j] += g * hy[row + j];
        mxx[j] += g * hxx[row + j];
        myy[j] += g * hyy[row + j];
        mxy[j] += g * hxy[row + j];
      }
    }
    for (let j = 0; j < ow; j++) {
      const ux = mx[j];
      const uy = my[j];
      const vx = mxx[j] - ux * ux;
      const vy = myy[j] - uy * uy;
      const vxy = mxy[j] - ux * uy;
      sum += ((2 * ux * uy + C1) * (2 * vxy + C2)) / ((ux * ux + uy * uy + C1) * (vx + vy + C2));
    }
  }
  return sum / (oh * ow);
}
