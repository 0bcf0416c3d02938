// float64 references for conv2d and its two gradients: plain loops over
// PyTorch Conv2d's definition (cross-correlation, zero padding).

export interface Conv2dRefShape {
  x: [number, number, number, number];
  w: [number, number, number, number];
  stride?: [number, number];
  padding?: [number, number];
}

export function conv2dOutShape({ x, w, stride = [1, 1], padding = [0, 0] }: Conv2dRefShape): [number, number, number, number] {
  return [
    x[0],
    w[0],
    Math.floor((x[2] + 2 * padding[0] - w[2]) / stride[0]) + 1,
    Math.floor((x[3] + 2 * padding[1] - w[3]) / stride[1]) + 1,
  ];
}

/**
 * Calls `visit(yAt, wAt, xAt)` for every product of the conv: output element
 * y[n,o,i,j], weight w[o,c,ky,kx] and the input x[n,c,i·sH+ky−pH, j·sW+kx−pW]
 * it reads (taps in the zero padding skipped). The forward and both
 * gradients are sums over exactly these triples.
 */
function forEachProduct(shape: Conv2dRefShape, visit: (yAt: number, wAt: number, xAt: number) => void): void {
  const [N, C, H, W] = shape.x;
  const [O, , KH, KW] = shape.w;
  const [sH, sW] = shape.stride ?? [1, 1];
  const [pH, pW] = shape.padding ?? [0, 0];
  const [, , OH, OW] = conv2dOutShape(shape);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++)
      for (let i = 0; i < OH; i++)
        for (let j = 0; j < OW; j++) {
          const yAt = ((n * O + o) * OH + i) * OW + j;
          for (let c = 0; c < C; c++)
            for (let ky = 0; ky < KH; ky++) {
              const hi = i * sH + ky - pH;
              if (hi < 0 || hi >= H) continue;
              for (let kx = 0; kx < KW; kx++) {
                const wi = j * sW + kx - pW;
                if (wi >= 0 && wi < W) visit(yAt, ((o * C + c) * KH + ky) * KW + kx, ((n * C + c) * H + hi) * W + wi);
              }
            }
        }
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** y[n,o,i,j] = b[o] + Σ_{c,ky,kx} w[o,c,ky,kx] · x[n,c,i·sH+ky−pH, j·sW+kx−pW]. */
export function conv2dRef(shape: Conv2dRefShape, x: Float64Array, w: Float64Array, b: Float64Array | null): Float64Array {
  const out = conv2dOutShape(shape);
  const y = new Float64Array(size(out));
  if (b) for (let at = 0; at < y.length; at++) y[at] = b[Math.floor(at / (out[2] * out[3])) % out[1]];
  forEachProduct(shape, (yAt, wAt, xAt) => (y[yAt] += w[wAt] * x[xAt]));
  return y;
}

/** dx[n,c,h,w] = Σ w[o,c,ky,kx]·dy[n,o,i,j] over the (i, j, ky, kx) that read (h, w): the forward's scatter. */
export function conv2dInputGradRef(shape: Conv2dRefShape, dy: Float64Array, w: Float64Array): Float64Array {
  const dx = new Float64Array(size(shape.x));
  forEachProduct(shape, (yAt, wAt, xAt) => (dx[xAt] += dy[yAt] * w[wAt]));
  return dx;
}

/** dw[o,c,ky,kx] = Σ_{n,i,j} dy[n,o,i,j]·x[n,c,i·sH+ky−pH, j·sW+kx−pW]; db[o] = Σ_{n,i,j} dy[n,o,i,j]. */
export function conv2dWeightGradRef(shape: Conv2dRefShape, dy: Float64Array, x: Float64Array): { dw: Float64Array; db: Float64Array } {
  const dw = new Float64Array(size(shape.w));
  forEachProduct(shape, (yAt, wAt, xAt) => (dw[wAt] += dy[yAt] * x[xAt]));
  const [, O, OH, OW] = conv2dOutShape(shape);
  const db = new Float64Array(O);
  for (let at = 0; at < dy.length; at++) db[Math.floor(at / (OH * OW)) % O] += dy[at];
  return { dw, db };
}
