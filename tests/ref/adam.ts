// float64 reference of torch.optim.Adam (L2 weight decay added to the
// gradient), written from PyTorch's documented update. No engine code.

export interface AdamRefOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

export class AdamRef {
  m: Float64Array[];
  v: Float64Array[];
  t = 0;
  lr: number;

  constructor(
    public params: Float64Array[],
    readonly opts: AdamRefOptions,
  ) {
    this.lr = opts.lr;
    this.m = params.map((p) => new Float64Array(p.length));
    this.v = params.map((p) => new Float64Array(p.length));
  }

  step(grads: Float64Array[]): void {
    const [beta1, beta2] = this.opts.betas;
    const { eps, weightDecay } = this.opts;
    this.t++;
    const bc1 = 1 - Math.pow(beta1, this.t);
    const bc2 = 1 - Math.pow(beta2, this.t);
    this.params.forEach((p, k) => {
      const m = this.m[k];
      const v = this.v[k];
      for (let i = 0; i < p.length; i++) {
        const g = grads[k][i] + weightDecay * p[i];
        m[i] = beta1 * m[i] + (1 - beta1) * g;
        v[i] = beta2 * v[i] + (1 - beta2) * g * g;
        const denom = Math.sqrt(v[i]) / Math.sqrt(bc2) + eps;
        p[i] -= (this.lr / bc1) * (m[i] / denom);
      }
    });
  }
}
