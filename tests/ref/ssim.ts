// float64 references for the image metrics, and test images that another
// program can rebuild bit for bit. No engine or train/ code.

/**
 * Deterministic 8-bit test images (planar [c,h,w], values k/255 as float32):
 * `sharp` is 4×4 blocks of LCG levels plus ±8 LCG noise, `blurred` its 3×3
 * box mean (integer floor, edges clamped) and `noisy` sharp plus ±24 LCG noise,
 * clamped. Integer arithmetic only (LCG s ← (s·1103515245 + 12345) mod 2³¹,
 * level (s >> 16) & 255), so a line-for-line Python port fed skimage the very
 * same pixels for the reference values in tests/metrics.test.ts.
 */
export function testImages(seed: number, c: number, h: number, w: number): { sharp: Float32Array; blurred: Float32Array; noisy: Float32Array } {
  let state = seed >>> 0;
  const next = () => {
    state = ((Math.imul(state, 1103515245) + 12345) & 0x7fffffff) >>> 0;
    return (state >>> 16) & 255;
  };
  const bh = Math.ceil(h / 4);
  const bw = Math.ceil(w / 4);
  const levels = Array.from({ length: c * bh * bw }, next);
  const sharp = new Int32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const v = levels[(ch * bh + (i >> 2)) * bw + (j >> 2)] + (next() % 17) - 8;
        sharp[(ch * h + i) * w + j] = Math.min(255, Math.max(0, v));
      }
    }
  }
  const blurred = new Int32Array(c * h * w);
  const noisy = new Int32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        let s = 0;
        for (let di = -1; di <= 1; di++) {
          for (let dj = -1; dj <= 1; dj++) {
            const y = Math.min(h - 1, Math.max(0, i + di));
            const x = Math.min(w - 1, Math.max(0, j + dj));
            s += sharp[(ch * h + y) * w + x];
          }
        }
        blurred[(ch * h + i) * w + j] = Math.floor(s / 9);
      }
    }
  }
  for (let k = 0; k < c * h * w; k++) noisy[k] = Math.min(255, Math.max(0, sharp[k] + (next() % 49) - 24));
  const toFloat = (q: Int32Array) => Float32Array.from(q, (v) => v / 255);
  return { sharp: toFloat(sharp), blurred: toFloat(blurred), noisy: toFloat(noisy) };
}

/**
 * SSIM straight from Wang et al. 2004, one window at a time: an 11×11
 * Gaussian (σ 1.5) normalised over all 121 weights, every window position
 * that lies fully inside the image, local weighted means, variances and
 * covariance, the SSIM formula, the mean over positions, then over channels.
 * Inputs are clamped to [0,1] first.
 */
export function ssimDirect(a: ArrayLike<number>, b: ArrayLike<number>, h: number, w: number, channels: number): number {
  const size = 11;
  const sigma = 1.5;
  const C1 = 0.01 ** 2;
  const C2 = 0.03 ** 2;
  const weights: number[][] = [];
  let total = 0;
  for (let dy = 0; dy < size; dy++) {
    weights.push([]);
    for (let dx = 0; dx < size; dx++) {
      const r2 = (dy - 5) ** 2 + (dx - 5) ** 2;
      weights[dy].push(Math.exp(-r2 / (2 * sigma * sigma)));
      total += weights[dy][dx];
    }
  }
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  let channelSum = 0;
  for (let c = 0; c < channels; c++) {
    let mapSum = 0;
    let count = 0;
    for (let top = 0; top + size <= h; top++) {
      for (let left = 0; left + size <= w; left++) {
        let mx = 0, my = 0;
        for (let dy = 0; dy < size; dy++) {
          for (let dx = 0; dx < size; dx++) {
            const k = (c * h + top + dy) * w + left + dx;
            const g = weights[dy][dx] / total;
            mx += g * clamp(a[k]);
            my += g * clamp(b[k]);
          }
        }
        // Variances about the local mean (not E[x²] − E[x]²): a different route to the same value.
        let vx = 0, vy = 0, cxy = 0;
        for (let dy = 0; dy < size; dy++) {
          for (let dx = 0; dx < size; dx++) {
            const k = (c * h + top + dy) * w + left + dx;
            const g = weights[dy][dx] / total;
            const ex = clamp(a[k]) - mx;
            const ey = clamp(b[k]) - my;
            vx += g * ex * ex;
            vy += g * ey * ey;
            cxy += g * ex * ey;
          }
        }
        mapSum += ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
        count++;
      }
    }
    channelSum += mapSum / count;
  }
  return channelSum / channels;
}
