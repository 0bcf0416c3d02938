// float64 reference for softmax: a plain loop, no engine code.

/** softmax(scale·x) over consecutive rows of `cols` values. */
export function softmaxRef(x: Float64Array, cols: number, scale: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += cols) {
    let max = -Infinity;
    for (let i = 0; i < cols; i++) max = Math.max(max, scale * x[base + i]);
    let sum = 0;
    for (let i = 0; i < cols; i++) sum += Math.exp(scale * x[base + i] - max);
    for (let i = 0; i < cols; i++) y[base + i] = Math.exp(scale * x[base + i] - max) / sum;
  }
  return y;
}
