// Independent float64 CPU reference of the whole LMFN model (forward and
// reverse-mode gradients), written straight from LMFN.md. It is test
// infrastructure for checking the GPU engine, so it deliberately shares no code
// with engine/, kernels/ or model/: a bug copied into both could not be caught.
//
// A tiny tape library: every op computes its output eagerly and, when any input
// needs a gradient, pushes a closure that accumulates into its inputs' gradients.
// backward() walks the closures in reverse creation order. Loops are plain and
// keep the innermost loop on contiguous memory, which is enough for 64×64 in a
// few seconds.

import { rng } from './rng.ts';

export interface T64 {
  data: Float64Array;
  shape: number[];
  needsGrad: boolean;
  /** Allocated on first accumulation during backward. */
  grad?: Float64Array;
}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const same = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

function check(cond: boolean, msg: string): asserts cond {
  if (!cond) throw new Error(`lmfn64: ${msg}`);
}

function gradOf(t: T64): Float64Array {
  t.grad ??= new Float64Array(t.data.length);
  return t.grad;
}

export class Tape {
  private steps: (() => void)[] = [];

  /** A leaf whose gradient is collected (parameters, the input). */
  variable(data: Float64Array, shape: number[]): T64 {
    check(data.length === numel(shape), `variable: ${data.length} values for shape [${shape}]`);
    return { data, shape: [...shape], needsGrad: true };
  }

  constant(data: Float64Array, shape: number[]): T64 {
    check(data.length === numel(shape), `constant: ${data.length} values for shape [${shape}]`);
    return { data, shape: [...shape], needsGrad: false };
  }

  /** Seeds `out` with `seed` (default all ones) and runs every recorded step in reverse. */
  backward(out: T64, seed?: Float64Array): void {
    const g = gradOf(out);
    if (seed) {
      check(seed.length === g.length, 'backward: seed size');
      for (let i = 0; i < g.length; i++) g[i] += seed[i];
    } else g.fill(1);
    for (let s = this.steps.length - 1; s >= 0; s--) this.steps[s]();
    this.steps = [];
  }

  private result(inputs: T64[], data: Float64Array, shape: number[]): T64 {
    return { data, shape, needsGrad: inputs.some((t) => t.needsGrad) };
  }

  private onBackward(out: T64, step: (g: Float64Array) => void): void {
    if (out.needsGrad) this.steps.push(() => { if (out.grad) step(out.grad); });
  }

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

  // ---------------------------------------------------------- pointwise

  /** max(x,0) + slope·min(x,0); slope 0 is ReLU. Backward uses x > 0 like PyTorch. */
  leakyRelu(x: T64, slope: number): T64 {
    const y = x.data.map((v) => (v > 0 ? v : slope * v));
    const out = this.result([x], y, [...x.shape]);
    this.onBackward(out, (g) => {
      if (!x.needsGrad) return;
      const gx = gradOf(x);
      for (let i = 0; i < g.length; i++) gx[i] += x.data[i] > 0 ? g[i] : slope * g[i];
    });
    return out;
  }

  relu(x: T64): T64 {
    return this.leakyRelu(x, 0);
  }

  sigmoid(x: T64): T64 {
    const y = x.data.map((v) => 1 / (1 + Math.exp(-v)));
    const out = this.result([x], y, [...x.shape]);
    this.onBackward(out, (g) => {
      if (!x.needsGrad) return;
      const gx = gradOf(x);
      for (let i = 0; i < g.length; i++) gx[i] += g[i] * y[i] * (1 - y[i]);
    });
    return out;
  }

  add(a: T64, b: T64): T64 {
    check(same(a.shape, b.shape), `add: [${a.shape}] vs [${b.shape}]`);
    const y = a.data.map((v, i) => v + b.data[i]);
    const out = this.result([a, b], y, [...a.shape]);
    this.onBackward(out, (g) => {
      for (const t of [a, b]) {
        if (!t.needsGrad) continue;
        const gt = gradOf(t);
        for (let i = 0; i < g.length; i++) gt[i] += g[i];
      }
    });
    return out;
  }

  mul(a: T64, b: T64): T64 {
    check(same(a.shape, b.shape), `mul: [${a.shape}] vs [${b.shape}]`);
    const y = a.data.map((v, i) => v * b.data[i]);
    const out = this.result([a, b], y, [...a.shape]);
    this.onBackward(out, (g) => {
      if (a.needsGrad) {
        const ga = gradOf(a);
        for (let i = 0; i < g.length; i++) ga[i] += g[i] * b.data[i];
      }
      if (b.needsGrad) {
        const gb = gradOf(b);
        for (let i = 0; i < g.length; i++) gb[i] += g[i] * a.data[i];
      }
    });
    return out;
  }

  /** s·x with a learnable scalar s of shape [1] (θ, α). */
  scale(s: T64, x: T64): T64 {
    check(s.data.length === 1, 'scale: scalar must have one element');
    const sv = s.data[0];
    const y = x.data.map((v) => sv * v);
    const out = this.result([s, x], y, [...x.shape]);
    this.onBackward(out, (g) => {
      if (s.needsGrad) {
        let d = 0;
        for (let i = 0; i < g.length; i++) d += g[i] * x.data[i];
        gradOf(s)[0] += d;
      }
      if (x.needsGrad) {
        const gx = gradOf(x);
        for (let i = 0; i < g.length; i++) gx[i] += sv * g[i];
      }
    });
    return out;
  }

  /** x[n,c,·,·] + values[c]: the fixed mean shift. */
  addChannelConstant(x: T64, values: number[]): T64 {
    const [N, C, H, W] = x.shape;
    check(values.length === C, 'addChannelConstant: one value per channel');
    const y = new Float64Array(x.data.length);
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++) {
        const base = (n * C + c) * H * W;
        for (let k = 0; k < H * W; k++) y[base + k] = x.data[base + k] + values[c];
      }
    const out = this.result([x], y, [...x.shape]);
    this.onBackward(out, (g) => {
      if (!x.needsGrad) return;
      const gx = gradOf(x);
      for (let i = 0; i < g.length; i++) gx[i] += g[i];
    });
    return out;
  }

  /** Same data, new shape (a copy, so nothing aliases). */
  reshape(x: T64, shape: number[]): T64 {
    check(numel(shape) === x.data.length, `reshape: [${x.shape}] to [${shape}]`);
    const out = this.result([x], x.data.slice(), [...shape]);
    this.onBackward(out, (g) => {
      if (!x.needsGrad) return;
      const gx = gradOf(x);
      for (let i = 0; i < g.length; i++) gx[i] += g[i];
    });
    return out;
  }

  // ---------------------------------------------------------- layout

  concatChannels(xs: T64[]): T64 {
    const [N, , H, W] = xs[0].shape;
    for (const t of xs) check(t.shape[0] === N && t.shape[2] === H && t.shape[3] === W, 'concatChannels: shapes');
    const C = xs.reduce((s, t) => s + t.shape[1], 0);
    const y = new Float64Array(N * C * H * W);
    const plane = H * W;
    for (let n = 0; n < N; n++) {
      let c0 = 0;
      for (const t of xs) {
        const Ct = t.shape[1];
        y.set(t.data.subarray(n * Ct * plane, (n + 1) * Ct * plane), (n * C + c0) * plane);
        c0 += Ct;
      }
    }
    const out = this.result(xs, y, [N, C, H, W]);
    this.onBackward(out, (g) => {
      for (let n = 0; n < N; n++) {
        let c0 = 0;
        for (const t of xs) {
          const Ct = t.shape[1];
          if (t.needsGrad) {
            const gt = gradOf(t);
            const src = (n * C + c0) * plane;
            const dst = n * Ct * plane;
            for (let k = 0; k < Ct * plane; k++) gt[dst + k] += g[src + k];
          }
          c0 += Ct;
        }
      }
    });
    return out;
  }

  /** out[n, c, r·h+i, r·w+j] = in[n, c·r² + r·i + j, h, w]. */
  pixelShuffle(x: T64, r: number): T64 {
    const [N, Cin, H, W] = x.shape;
    check(Cin % (r * r) === 0, 'pixelShuffle: channels not divisible by r²');
    const C = Cin / (r * r);
    const Ho = H * r;
    const Wo = W * r;
    const srcIndex = new Int32Array(N * C * Ho * Wo);
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++)
        for (let oy = 0; oy < Ho; oy++)
          for (let ox = 0; ox < Wo; ox++) {
            const h = Math.floor(oy / r);
            const i = oy % r;
            const w = Math.floor(ox / r);
            const j = ox % r;
            srcIndex[((n * C + c) * Ho + oy) * Wo + ox] = ((n * Cin + c * r * r + r * i + j) * H + h) * W + w;
          }
    const y = new Float64Array(srcIndex.length);
    for (let k = 0; k < y.length; k++) y[k] = x.data[srcIndex[k]];
    const out = this.result([x], y, [N, C, Ho, Wo]);
    this.onBackward(out, (g) => {
      if (!x.needsGrad) return;
      const gx = gradOf(x);
      for (let k = 0; k < g.length; k++) gx[srcIndex[k]] += g[k];
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

// ==================================================================== LMFN

export const LMFN_MEAN = [0.4488, 0.4371, 0.4040];

export interface ParamSpec {
  name: string;
  shape: number[];
}

/** The 176 parameters in state_dict order (LMFN.md §6), weight before bias. */
export function lmfnParameterSpecs(): ParamSpec[] {
  const specs: ParamSpec[] = [];
  const conv = (name: string, o: number, i: number, k: number) => {
    specs.push({ name: `${name}.weight`, shape: [o, i, k, k] });
    specs.push({ name: `${name}.bias`, shape: [o] });
  };
  conv('encoder.head', 64, 3, 3);
  for (const d of [1, 2, 3, 4]) conv(`encoder.down${d}`, 64, 64, 3);
  const resblocks = ['res4', 'res3a', 'res3b', ...[0, 1, 2, 3, 4].map((j) => `res2.${j}`)];
  for (const r of resblocks) for (const c of [1, 2]) conv(`encoder.${r}.conv${c}`, 64, 64, 3);
  conv('decoder.head', 50, 64, 3);
  for (let i = 0; i < 4; i++) {
    const p = `decoder.rfdb.${i}`;
    for (const s of [1, 2, 3]) {
      conv(`${p}.c${s}_d`, 25, 50, 1);
      conv(`${p}.c${s}_r`, 50, 50, 3);
    }
    conv(`${p}.c4`, 25, 50, 3);
    conv(`${p}.c5`, 50, 100, 1);
    conv(`${p}.esa.conv1`, 12, 50, 1);
    conv(`${p}.esa.conv_f`, 12, 12, 1);
    conv(`${p}.esa.conv_max`, 12, 12, 3);
    conv(`${p}.esa.conv2`, 12, 12, 3);
    conv(`${p}.esa.conv3`, 12, 12, 3);
    conv(`${p}.esa.conv3_`, 12, 12, 3);
    conv(`${p}.esa.conv4`, 50, 12, 1);
  }
  specs.push({ name: 'decoder.alfm.theta', shape: [1] });
  conv('decoder.alfm_fuse', 50, 200, 1);
  specs.push({ name: 'decoder.acfm.alpha', shape: [1] });
  specs.push({ name: 'decoder.acfm.conv1.weight', shape: [1, 1, 1, 3, 3] });
  specs.push({ name: 'decoder.acfm.conv1.bias', shape: [1] });
  specs.push({ name: 'decoder.acfm.conv2.weight', shape: [1, 1, 3, 1, 1] });
  specs.push({ name: 'decoder.acfm.conv2.bias', shape: [1] });
  conv('decoder.fuse', 50, 100, 3);
  conv('decoder.tail', 48, 50, 3);
  return specs;
}


export interface RandomWeightOptions {
  theta?: number;
  alpha?: number;
}

/**
 * Deterministic weights, following LMFN.md §9 in spirit: ResBlock convs are
 * Kaiming-normal ×0.1 with bias 0, everything else U(±1/√fan_in). θ and α are
 * non-zero (default 0.3 / 0.7) so both attention branches are exercised. Values
 * are rounded to float32, so an engine loading them sees exactly the same numbers.
 */
export function lmfnRandomWeights(seed: number, options: RandomWeightOptions = {}): Map<string, Float64Array> {
  const { next } = rng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(Math.max(next(), 1e-12))) * Math.cos(2 * Math.PI * next());
  const weights = new Map<string, Float64Array>();
  const fanIn = new Map<string, number>();
  for (const { name, shape } of lmfnParameterSpecs()) {
    const n = numel(shape);
    const layer = name.slice(0, name.lastIndexOf('.'));
    if (name.endsWith('.weight')) fanIn.set(layer, numel(shape.slice(1)));
    const data = new Float64Array(n);
    if (name === 'decoder.alfm.theta') data[0] = options.theta ?? 0.3;
    else if (name === 'decoder.acfm.alpha') data[0] = options.alpha ?? 0.7;
    else if (/^encoder\.res/.test(name)) {
      const std = Math.sqrt(2 / numel(shape.slice(1)));
      if (name.endsWith('.weight')) for (let i = 0; i < n; i++) data[i] = 0.1 * std * normal();
    } else {
      const bound = 1 / Math.sqrt(fanIn.get(layer)!);
      for (let i = 0; i < n; i++) data[i] = bound * (2 * next() - 1);
    }
    weights.set(name, data.map(Math.fround));
  }
  return weights;
}

/** Called with each layer's output, keyed like the golden activations (module names). */
export type ActivationHook = (name: string, t: T64) => void;

/** Builds the LMFN forward graph on `tape` (LMFN.md §3). */
export function lmfnForward(tape: Tape, P: Map<string, T64>, x: T64, hook: ActivationHook = () => {}): T64 {
  const p = (name: string) => {
    const t = P.get(name);
    if (!t) throw new Error(`lmfn64: missing parameter ${name}`);
    return t;
  };
  const conv = (name: string, input: T64, stride = 1, pad?: number) => {
    const w = p(`${name}.weight`);
    const y = tape.conv2d(input, w, p(`${name}.bias`), stride, pad ?? (w.shape[2] - 1) / 2);
    hook(name, y);
    return y;
  };
  const lrelu = (t: T64, s: number) => tape.leakyRelu(t, s);
  const resblock = (name: string, input: T64) => {
    const y = tape.add(input, conv(`${name}.conv2`, tape.relu(conv(`${name}.conv1`, input))));
    hook(name, y);
    return y;
  };
  const up2 = (t: T64) => tape.resizeBilinear(t, t.shape[2] * 2, t.shape[3] * 2);

  const esa = (name: string, input: T64) => {
    const c1_ = conv(`${name}.conv1`, input);
    const c1 = conv(`${name}.conv2`, c1_, 2, 0);
    let v = tape.maxPool2d(c1, 7, 3);
    v = tape.relu(conv(`${name}.conv_max`, v));
    let c3 = tape.relu(conv(`${name}.conv3`, v));
    c3 = conv(`${name}.conv3_`, c3);
    c3 = tape.resizeBilinear(c3, input.shape[2], input.shape[3]);
    const cf = conv(`${name}.conv_f`, c1_);
    const m = tape.sigmoid(conv(`${name}.conv4`, tape.add(c3, cf)));
    const y = tape.mul(input, m);
    hook(name, y);
    return y;
  };

  const rfdb = (name: string, input: T64) => {
    const act = (t: T64) => lrelu(t, 0.05);
    const d1 = act(conv(`${name}.c1_d`, input));
    const r1 = act(tape.add(conv(`${name}.c1_r`, input), input));
    const d2 = act(conv(`${name}.c2_d`, r1));
    const r2 = act(tape.add(conv(`${name}.c2_r`, r1), r1));
    const d3 = act(conv(`${name}.c3_d`, r2));
    const r3 = act(tape.add(conv(`${name}.c3_r`, r2), r2));
    const r4 = act(conv(`${name}.c4`, r3));
    const y = esa(`${name}.esa`, conv(`${name}.c5`, tape.concatChannels([d1, d2, d3, r4])));
    hook(name, y);
    return y;
  };

  const alfm = (layers: T64[]) => {
    const [B, C, h, w] = layers[0].shape;
    const R = layers.length * C;
    const X = tape.reshape(tape.concatChannels(layers), [B, R, h * w]);
    const E = tape.matmulNT(X, X);
    hook('decoder.alfm.energy', E);
    const A = tape.softmaxNegRows(E);
    const Y = tape.matmulNN(A, X);
    hook('decoder.alfm.apply_attn', Y);
    const out = tape.reshape(tape.add(tape.scale(p('decoder.alfm.theta'), Y), X), [B, R, h, w]);
    hook('decoder.alfm', out);
    return out;
  };

  const acfm = (input: T64) => {
    const [B, C, h, w] = input.shape;
    const v1 = tape.conv3dSpatial(input, p('decoder.acfm.conv1.weight'), p('decoder.acfm.conv1.bias'));
    hook('decoder.acfm.conv1', { ...v1, shape: [B, 1, C, h, w] });
    const v2 = tape.conv3dDepth(v1, p('decoder.acfm.conv2.weight'), p('decoder.acfm.conv2.bias'));
    hook('decoder.acfm.conv2', { ...v2, shape: [B, 1, C, h, w] });
    const gate = tape.sigmoid(v2);
    const out = tape.add(input, tape.scale(p('decoder.acfm.alpha'), tape.mul(gate, input)));
    hook('decoder.acfm', out);
    return out;
  };

  const xs = tape.addChannelConstant(x, LMFN_MEAN.map((m) => -m));
  // ---- encoder (MSHF)
  const f0 = lrelu(conv('encoder.head', xs), 0.1);
  const f1 = lrelu(conv('encoder.down1', f0, 2, 1), 0.1);
  const f2 = lrelu(conv('encoder.down2', f1, 2, 1), 0.1);
  const f3 = lrelu(conv('encoder.down3', f2, 2, 1), 0.1);
  const f4 = lrelu(conv('encoder.down4', f3, 2, 1), 0.1);
  const u4 = up2(resblock('encoder.res4', f4));
  const g3 = tape.add(resblock('encoder.res3a', f3), u4);
  const u3 = up2(resblock('encoder.res3b', g3));
  const g2 = tape.add(resblock('encoder.res2.1', resblock('encoder.res2.0', f2)), u3);
  const e = resblock('encoder.res2.4', resblock('encoder.res2.3', resblock('encoder.res2.2', g2)));
  hook('encoder', e);
  // ---- decoder (MFFD)
  const h = conv('decoder.head', e);
  const o1 = rfdb('decoder.rfdb.0', h);
  const o2 = rfdb('decoder.rfdb.1', o1);
  const o3 = rfdb('decoder.rfdb.2', o2);
  const o4 = rfdb('decoder.rfdb.3', o3);
  const a = lrelu(conv('decoder.alfm_fuse', alfm([o1, o2, o3, o4])), 0.05);
  const c = acfm(o4);
  const y = tape.add(conv('decoder.fuse', tape.concatChannels([a, c])), h);
  const out = tape.pixelShuffle(conv('decoder.tail', y), 4);
  return tape.addChannelConstant(out, LMFN_MEAN);
}

function checkInputs(weights: Map<string, Float64Array>, input: Float64Array, shape: number[]): void {
  check(shape.length === 4 && shape[1] === 3, `input shape [${shape}] must be [N,3,H,W]`);
  check(input.length === numel(shape), `input has ${input.length} values for shape [${shape}]`);
  check(shape[2] % 16 === 0 && shape[3] % 16 === 0 && shape[2] >= 64 && shape[3] >= 64, `input ${shape[2]}x${shape[3]}: H, W must be multiples of 16 and ≥ 64`);
  for (const { name, shape: s } of lmfnParameterSpecs()) {
    const w = weights.get(name);
    check(!!w, `missing parameter ${name}`);
    check(w.length === numel(s), `${name} has ${w.length} values, expected ${numel(s)}`);
  }
}

function buildParams(tape: Tape, weights: Map<string, Float64Array>, withGrad: boolean): Map<string, T64> {
  const P = new Map<string, T64>();
  for (const { name, shape } of lmfnParameterSpecs()) {
    const data = weights.get(name)!;
    P.set(name, withGrad ? tape.variable(data, shape) : tape.constant(data, shape));
  }
  return P;
}

/** LMFN forward in float64: input [N,3,H,W] in [0,1] → output [N,3,H,W]. */
export function lmfnReference(weights: Map<string, Float64Array>, input: Float64Array, shape: [number, number, number, number], hook?: ActivationHook): Float64Array {
  checkInputs(weights, input, shape);
  const tape = new Tape();
  return lmfnForward(tape, buildParams(tape, weights, false), tape.constant(input, shape), hook).data;
}

export interface LmfnGradients {
  output: Float64Array;
  loss: number;
  /** d loss / d parameter, for every parameter name. */
  grads: Map<string, Float64Array>;
  inputGrad: Float64Array;
}

/** loss = mean((out − target)²) (target defaults to zero, i.e. mean(out²)) and all its gradients. */
export function lmfnLossAndGrads(
  weights: Map<string, Float64Array>,
  input: Float64Array,
  shape: [number, number, number, number],
  target?: Float64Array,
  hook?: ActivationHook,
): LmfnGradients {
  checkInputs(weights, input, shape);
  const tape = new Tape();
  const P = buildParams(tape, weights, true);
  const x = tape.variable(input, shape);
  const out = lmfnForward(tape, P, x, hook);
  const loss = tape.mseLoss(out, target);
  tape.backward(loss);
  const grads = new Map<string, Float64Array>();
  for (const [name, t] of P) grads.set(name, t.grad ?? new Float64Array(t.data.length));
  return { output: out.data, loss: loss.data[0], grads, inputGrad: x.grad ?? new Float64Array(input.length) };
}
