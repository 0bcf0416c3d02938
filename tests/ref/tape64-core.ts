// The float64 tape behind the LMFN reference (tests/ref/lmfn64.ts): leaves,
// the reverse walk, and the pointwise and layout ops. The dense ops (conv,
// resampling, attention, the pseudo-3D conv, the loss) extend it in
// tests/ref/tape64.ts. Like the rest of the reference it shares no code with
// engine/, kernels/ or model/: a bug copied into both could not be caught.
//
// Every op computes its output eagerly and, when any input needs a gradient,
// pushes a closure that accumulates into its inputs' gradients. backward()
// walks the closures in reverse creation order. Loops are plain and keep the
// innermost loop on contiguous memory, which is enough for 64×64 in a few
// seconds.

export interface T64 {
  data: Float64Array;
  shape: number[];
  needsGrad: boolean;
  /** Allocated on first accumulation during backward. */
  grad?: Float64Array;
}

export const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
export const same = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

export function check(cond: boolean, msg: string): asserts cond {
  if (!cond) throw new Error(`lmfn64: ${msg}`);
}

export function gradOf(t: T64): Float64Array {
  t.grad ??= new Float64Array(t.data.length);
  return t.grad;
}

export class TapeCore {
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

  protected result(inputs: T64[], data: Float64Array, shape: number[]): T64 {
    return { data, shape, needsGrad: inputs.some((t) => t.needsGrad) };
  }

  protected onBackward(out: T64, step: (g: Float64Array) => void): void {
    if (out.needsGrad) this.steps.push(() => { if (out.grad) step(out.grad); });
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
}
