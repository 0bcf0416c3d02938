// The float64 tape of the LMFN reference: TapeCore (tests/ref/tape64-core.ts)
// plus the dense ops, each written from LMFN.md with its backward beside it.

import { TapeCore, check, gradOf, same, type T64 } from './tape64-core.ts';

export type { T64 } from './tape64-core.ts';

export class Tape extends TapeCore {
  // ---------------------------------------------------------------- conv2d

  /** PyTorch conv2d: x [N,C,H,W], w [O,C,kH,kW] (OIHW), bias [O], same zero padding on all sides. */
  conv2d(x: T64, w: T64, b: T64 | null, stride: number, pad: number): T64 {
    check(x.shape.length === 4 && w.shape.length === 4, 'conv2d: x and w must be 4-D');
    const [N, C, H, W] = x.shape;
    const [O, Cw, kH, kW] = w.shape;
    check(C === Cw, `conv2d: input [${x.shape}] vs weight [${w.shape}]`);
    if (b) check(b.data.length === O, 'conv2d: bias size');
    const Ho = Math.floor((H + 2 * pad - kH) / stride) + 1;
    const Wo = Math.floor((W + 2 * pad - kW) / stride) + 1;
    check(Ho > 0 && Wo > 0, `conv2d: output would be ${Ho}x${Wo}`);
    const xd = x.data;
    const wd = w.data;
    const y = new Float64Array(N * O * Ho * Wo);
    // Valid output-column range for kernel column kx: 0 ≤ j·s + kx − p < W.
    const jLo = (kx: number) => Math.max(0, Math.ceil((pad - kx) / stride));
    const jHi = (kx: number) => Math.min(Wo - 1, Math.floor((W - 1 + pad - kx) / stride));
    for (let n = 0; n < N; n++) {
      for (let o = 0; o < O; o++) {
        const yBase = (n * O + o) * Ho * Wo;
        if (b) y.fill(b.data[o], yBase, yBase + Ho * Wo);
        for (let c = 0; c < C; c++) {
          const xBase = (n * C + c) * H * W;
          for (let ky = 0; ky < kH; ky++) {
            for (let kx = 0; kx < kW; kx++) {
              const wv = wd[((o * C + c) * kH + ky) * kW + kx];
              const j0 = jLo(kx);
              const j1 = jHi(kx);
              for (let i = 0; i < Ho; i++) {
                const iy = i * stride + ky - pad;
                if (iy < 0 || iy >= H) continue;
                const yRow = yBase + i * Wo;
                const xRow = xBase + iy * W + kx - pad;
                for (let j = j0; j <= j1; j++) y[yRow + j] += wv * xd[xRow + j * stride];
              }
            }
          }
        }
      }
    }
    const out = this.result(b ? [x, w, b] : [x, w], y, [N, O, Ho, Wo]);
    this.onBackward(out, (g) => {
      const gx = x.needsGrad ? gradOf(x) : null;
      const gw = w.needsGrad ? gradOf(w) : null;
      if (b?.needsGrad) {
        const gb = gradOf(b);
        for (let n = 0; n < N; n++)
          for (let o = 0; o < O; o++) {
            const base = (n * O + o) * Ho * Wo;
            let s = 0;
            for (let k = 0; k < Ho * Wo; k++) s += g[base + k];
            gb[o] += s;
          }
      }
      if (!gx && !gw) return;
      for (let n = 0; n < N; n++) {
        for (let o = 0; o < O; o++) {
          const yBase = (n * O + o) * Ho * Wo;
          for (let c = 0; c < C; c++) {
            const xBase = (n * C + c) * H * W;
            for (let ky = 0; ky < kH; ky++) {
              for (let kx = 0; kx < kW; kx++) {
                const wi = ((o * C + c) * kH + ky) * kW + kx;
                const wv = wd[wi];
                const j0 = jLo(kx);
                const j1 = jHi(kx);
                let dw = 0;
                for (let i = 0; i < Ho; i++) {
                  const iy = i * stride + ky - pad;
                  if (iy < 0 || iy >= H) continue;
                  const yRow = yBase + i * Wo;
                  const xRow = xBase + iy * W + kx - pad;
                  if (gx) for (let j = j0; j <= j1; j++) gx[xRow + j * stride] += wv * g[yRow + j];
                  if (gw) for (let j = j0; j <= j1; j++) dw += g[yRow + j] * xd[xRow + j * stride];
                }
                if (gw) gw[wi] += dw;
              }
            }
          }
        }
      }
    });
    return out;
  }

  // ---------------------------------------------------------- resampling

  /** Bilinear resize, align_corners=False, PyTorch semantics (LMFN.md §7.2), separable. */
  resizeBilinear(x: T64, Ho: number, Wo: number): T64 {
    const [N, C, H, W] = x.shape;
    const axis = (I: number, O: number) => {
      const i0 = new Int32Array(O);
      const i1 = new Int32Array(O);
      const lam = new Float64Array(O);
      const scale = I / O;
      for (let d = 0; d < O; d++) {
        const src = Math.max(0, (d + 0.5) * scale - 0.5);
        const f = Math.floor(src);
        i0[d] = f;
        i1[d] = Math.min(f + 1, I - 1);
        lam[d] = src - f;
      }
      return { i0, i1, lam };
    };
    const ay = axis(H, Ho);
    const ax = axis(W, Wo);
    const y = new Float64Array(N * C * Ho * Wo);
    for (let p = 0; p < N * C; p++) {
      const xb = p * H * W;
      const yb = p * Ho * Wo;
      for (let oy = 0; oy < Ho; oy++) {
        const r0 = xb + ay.i0[oy] * W;
        const r1 = xb + ay.i1[oy] * W;
        const ly = ay.lam[oy];
        for (let ox = 0; ox < Wo; ox++) {
          const c0 = ax.i0[ox];
          const c1 = ax.i1[ox];
          const lx = ax.lam[ox];
          const top = (1 - lx) * x.data[r0 + c0] + lx * x.data[r0 + c1];
          const bot = (1 - lx) * x.data[r1 + c0] + lx * x.data[r1 + c1];
          y[yb + oy * Wo + ox] = (1 - ly) * top + ly * bot;
        }
      }
    }
    const out = this.result([x], y, [N, C, Ho, Wo]);
    this.onBackward(out, (g) => {
      if (!x.needsGrad) return;
      const gx = gradOf(x);
      for (let p = 0; p < N * C; p++) {
        const xb = p * H * W;
        const yb = p * Ho * Wo;
        for (let oy = 0; oy < Ho; oy++) {
          const r0 = xb + ay.i0[oy] * W;
          const r1 = xb + ay.i1[oy] * W;
          const ly = ay.lam[oy];
          for (let ox = 0; ox < Wo; ox++) {
            const c0 = ax.i0[ox];
            const c1 = ax.i1[ox];
            const lx = ax.lam[ox];
            const gv = g[yb + oy * Wo + ox];
            gx[r0 + c0] += (1 - ly) * (1 - lx) * gv;
            gx[r0 + c1] += (1 - ly) * lx * gv;
            gx[r1 + c0] += ly * (1 - lx) * gv;
            gx[r1 + c1] += ly * lx * gv;
          }
        }
      }
    });
    return out;
  }

  /** Max-pool, no padding, floor; the first maximum in row-major window order wins ties. */
  maxPool2d(x: T64, k: number, stride: number): T64 {
    const [N, C, H, W] = x.shape;
    const Ho = Math.floor((H - k) / stride) + 1;
    const Wo = Math.floor((W - k) / stride) + 1;
    check(Ho > 0 && Wo > 0, `maxPool2d: input ${H}x${W} smaller than window ${k}`);
    const y = new Float64Array(N * C * Ho * Wo);
    const argmax = new Int32Array(y.length);
    for (let p = 0; p < N * C; p++)
      for (let oy = 0; oy < Ho; oy++)
        for (let ox = 0; ox < Wo; ox++) {
          let best = -Infinity;
          let at = -1;
          for (let ky = 0; ky < k; ky++)
            for (let kx = 0; kx < k; kx++) {
              const idx = (p * H + oy * stride + ky) * W + ox * stride + kx;
              if (x.data[idx] > best || at < 0) {
                best = x.data[idx];
                at = idx;
              }
            }
          const o = (p * Ho + oy) * Wo + ox;
          y[o] = best;
          argmax[o] = at;
        }
    const out = this.result([x], y, [N, C, Ho, Wo]);
    this.onBackward(out, (g) => {
      if (!x.needsGrad) return;
      const gx = gradOf(x);
      for (let o = 0; o < g.length; o++) gx[argmax[o]] += g[o];
    });
    return out;
  }

  // ---------------------------------------------------------- attention

  /** a [B,M,K] · b[B,N,K]ᵀ → [B,M,N]. */
  matmulNT(a: T64, b: T64): T64 {
    const [B, M, K] = a.shape;
    const [Bb, Nn, Kb] = b.shape;
    check(B === Bb && K === Kb, `matmulNT: [${a.shape}] · [${b.shape}]ᵀ`);
    const y = new Float64Array(B * M * Nn);
    for (let bi = 0; bi < B; bi++)
      for (let m = 0; m < M; m++) {
        const ar = (bi * M + m) * K;
        for (let n = 0; n < Nn; n++) {
          const br = (bi * Nn + n) * K;
          let s = 0;
          for (let k = 0; k < K; k++) s += a.data[ar + k] * b.data[br + k];
          y[(bi * M + m) * Nn + n] = s;
        }
      }
    const out = this.result([a, b], y, [B, M, Nn]);
    this.onBackward(out, (g) => {
      // da[m,k] = Σ_n g[m,n]·b[n,k];  db[n,k] = Σ_m g[m,n]·a[m,k]
      const ga = a.needsGrad ? gradOf(a) : null;
      const gb = b.needsGrad ? gradOf(b) : null;
      for (let bi = 0; bi < B; bi++)
        for (let m = 0; m < M; m++) {
          const ar = (bi * M + m) * K;
          for (let n = 0; n < Nn; n++) {
            const gv = g[(bi * M + m) * Nn + n];
            const br = (bi * Nn + n) * K;
            if (ga) for (let k = 0; k < K; k++) ga[ar + k] += gv * b.data[br + k];
            if (gb) for (let k = 0; k < K; k++) gb[br + k] += gv * a.data[ar + k];
          }
        }
    });
    return out;
  }

  /** a [B,M,N] · b [B,N,K] → [B,M,K]. */
  matmulNN(a: T64, b: T64): T64 {
    const [B, M, Nn] = a.shape;
    const [Bb, Nb, K] = b.shape;
    check(B === Bb && Nn === Nb, `matmulNN: [${a.shape}] · [${b.shape}]`);
    const y = new Float64Array(B * M * K);
    for (let bi = 0; bi < B; bi++)
      for (let m = 0; m < M; m++) {
        const yr = (bi * M + m) * K;
        for (let n = 0; n < Nn; n++) {
          const av = a.data[(bi * M + m) * Nn + n];
          const br = (bi * Nn + n) * K;
          for (let k = 0; k < K; k++) y[yr + k] += av * b.data[br + k];
        }
      }
    const out = this.result([a, b], y, [B, M, K]);
    this.onBackward(out, (g) => {
      // da[m,n] = Σ_k g[m,k]·b[n,k];  db[n,k] = Σ_m a[m,n]·g[m,k]
      const ga = a.needsGrad ? gradOf(a) : null;
      const gb = b.needsGrad ? gradOf(b) : null;
      for (let bi = 0; bi < B; bi++)
        for (let m = 0; m < M; m++) {
          const gr = (bi * M + m) * K;
          for (let n = 0; n < Nn; n++) {
            const ai = (bi * M + m) * Nn + n;
            const br = (bi * Nn + n) * K;
            if (ga) {
              let s = 0;
              for (let k = 0; k < K; k++) s += g[gr + k] * b.data[br + k];
              ga[ai] += s;
            }
            if (gb) {
              const av = a.data[ai];
              for (let k = 0; k < K; k++) gb[br + k] += av * g[gr + k];
            }
          }
        }
    });
    return out;
  }

  /** softmax over the last axis of −E, i.e. softmax(rowmax(E) − E) (LMFN.md §5.3). */
  softmaxNegRows(e: T64): T64 {
    const n = e.shape[e.shape.length - 1];
    const rows = e.data.length / n;
    const y = new Float64Array(e.data.length);
    for (let r = 0; r < rows; r++) {
      const base = r * n;
      let mn = Infinity;
      for (let k = 0; k < n; k++) mn = Math.min(mn, e.data[base + k]);
      let s = 0;
      for (let k = 0; k < n; k++) s += y[base + k] = Math.exp(mn - e.data[base + k]);
      for (let k = 0; k < n; k++) y[base + k] /= s;
    }
    const out = this.result([e], y, [...e.shape]);
    this.onBackward(out, (g) => {
      if (!e.needsGrad) return;
      const ge = gradOf(e);
      for (let r = 0; r < rows; r++) {
        const base = r * n;
        let dot = 0;
        for (let k = 0; k < n; k++) dot += g[base + k] * y[base + k];
        // d softmax(s)/ds, then the chain through s = −E flips the sign.
        for (let k = 0; k < n; k++) ge[base + k] -= y[base + k] * (g[base + k] - dot);
      }
    });
    return out;
  }

  // ---------------------------------------------------------- ACFM pseudo-3D conv

  /** V1[n,c,i,j] = b + Σ w[0,0,0,ky,kx]·x[n,c,i+ky−1,j+kx−1]: one 3×3 filter shared by every channel. */
  conv3dSpatial(x: T64, w: T64, b: T64): T64 {
    check(same(w.shape, [1, 1, 1, 3, 3]) && b.data.length === 1, 'conv3dSpatial: weight [1,1,1,3,3], bias [1]');
    const [N, C, H, W] = x.shape;
    const y = new Float64Array(x.data.length);
    for (let p = 0; p < N * C; p++)
      for (let i = 0; i < H; i++)
        for (let j = 0; j < W; j++) {
          let s = b.data[0];
          for (let ky = 0; ky < 3; ky++)
            for (let kx = 0; kx < 3; kx++) {
              const yy = i + ky - 1;
              const xx = j + kx - 1;
              if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
              s += w.data[ky * 3 + kx] * x.data[(p * H + yy) * W + xx];
            }
          y[(p * H + i) * W + j] = s;
        }
    const out = this.result([x, w, b], y, [...x.shape]);
    this.onBackward(out, (g) => {
      const gx = x.needsGrad ? gradOf(x) : null;
      const gw = w.needsGrad ? gradOf(w) : null;
      let gb = 0;
      for (let p = 0; p < N * C; p++)
        for (let i = 0; i < H; i++)
          for (let j = 0; j < W; j++) {
            const gv = g[(p * H + i) * W + j];
            gb += gv;
            for (let ky = 0; ky < 3; ky++)
              for (let kx = 0; kx < 3; kx++) {
                const yy = i + ky - 1;
                const xx = j + kx - 1;
                if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
                const xi = (p * H + yy) * W + xx;
                if (gx) gx[xi] += w.data[ky * 3 + kx] * gv;
                if (gw) gw[ky * 3 + kx] += x.data[xi] * gv;
              }
          }
      if (b.needsGrad) gradOf(b)[0] += gb;
    });
    return out;
  }

  /** V2[n,c,i,j] = b + Σ_d w[0,0,d,0,0]·V1[n,c+d−1,i,j], zero outside the channel range. */
  conv3dDepth(v: T64, w: T64, b: T64): T64 {
    check(same(w.shape, [1, 1, 3, 1, 1]) && b.data.length === 1, 'conv3dDepth: weight [1,1,3,1,1], bias [1]');
    const [N, C, H, W] = v.shape;
    const plane = H * W;
    const y = new Float64Array(v.data.length);
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++)
        for (let k = 0; k < plane; k++) {
          let s = b.data[0];
          for (let d = 0; d < 3; d++) {
            const cc = c + d - 1;
            if (cc < 0 || cc >= C) continue;
            s += w.data[d] * v.data[(n * C + cc) * plane + k];
          }
          y[(n * C + c) * plane + k] = s;
        }
    const out = this.result([v, w, b], y, [...v.shape]);
    this.onBackward(out, (g) => {
      const gv = v.needsGrad ? gradOf(v) : null;
      const gw = w.needsGrad ? gradOf(w) : null;
      let gb = 0;
      for (let n = 0; n < N; n++)
        for (let c = 0; c < C; c++)
          for (let k = 0; k < plane; k++) {
            const gval = g[(n * C + c) * plane + k];
            gb += gval;
            for (let d = 0; d < 3; d++) {
              const cc = c + d - 1;
              if (cc < 0 || cc >= C) continue;
              const vi = (n * C + cc) * plane + k;
              if (gv) gv[vi] += w.data[d] * gval;
              if (gw) gw[d] += v.data[vi] * gval;
            }
          }
      if (b.needsGrad) gradOf(b)[0] += gb;
    });
    return out;
  }

  // ---------------------------------------------------------- loss

  /** mean((x − target)²), or mean(x²) without a target; shape [1]. */
  mseLoss(x: T64, target?: Float64Array): T64 {
    if (target) check(target.length === x.data.length, 'mseLoss: target size');
    const n = x.data.length;
    const diff = x.data.map((v, i) => v - (target ? target[i] : 0));
    let s = 0;
    for (let i = 0; i < n; i++) s += diff[i] * diff[i];
    const out = this.result([x], Float64Array.of(s / n), [1]);
    this.onBackward(out, (g) => {
      if (!x.needsGrad) return;
      const gx = gradOf(x);
      for (let i = 0; i < n; i++) gx[i] += (2 / n) * diff[i] * g[0];
    });
    return out;
  }
}
