// float64 reference for conv3d: a plain loop over PyTorch Conv3d's definition
// (cross-correlation, zero padding, stride 1).

export interface Conv3dRefShape {
  x: [number, number, number, number, number];
  w: [number, number, number, number, number];
  padding?: [number, number, number];
}

export function conv3dOutShape({ x, w, padding = [0, 0, 0] }: Conv3dRefShape): number[] {
  return [x[0], w[0], x[2] + 2 * padding[0] - w[2] + 1, x[3] + 2 * padding[1] - w[3] + 1, x[4] + 2 * padding[2] - w[4] + 1];
}

/** PyTorch Conv3d, stride 1: y[n,o,d,i,j] = b[o] + Σ_{c,kd,ky,kx} w[o,c,kd,ky,kx] · x[n,c,d+kd−pD,i+ky−pH,j+kx−pW]. */
export function conv3dRef(shape: Conv3dRefShape, x: Float64Array, w: Float64Array, b: Float64Array | null): Float64Array {
  const [N, C, D, H, W] = shape.x;
  const [O, , KD, KH, KW] = shape.w;
  const [pD, pH, pW] = shape.padding ?? [0, 0, 0];
  const [, , OD, OH, OW] = conv3dOutShape(shape);
  const y = new Float64Array(N * O * OD * OH * OW);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      for (let d = 0; d < OD; d++) {
        for (let i = 0; i < OH; i++) {
          for (let j = 0; j < OW; j++) {
            let s = b ? b[o] : 0;
            for (let c = 0; c < C; c++) {
              for (let kd = 0; kd < KD; kd++) {
                const di = d + kd - pD;
                if (di < 0 || di >= D) continue;
                for (let ky = 0; ky < KH; ky++) {
                  const hi = i + ky - pH;
                  if (hi < 0 || hi >= H) continue;
                  for (let kx = 0; kx < KW; kx++) {
                    const wi = j + kx - pW;
                    if (wi < 0 || wi >= W) continue;
                    s += w[(((o * C + c) * KD + kd) * KH + ky) * KW + kx] * x[(((n * C + c) * D + di) * H + hi) * W + wi];
                  }
                }
              }
            }
            y[(((n * O + o) * OD + d) * OH + i) * OW + j] = s;
          }
        }
      }
    }
  }
  return y;
}
