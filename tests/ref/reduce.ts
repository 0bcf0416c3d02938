// float64 reference for sum and mean over any set of axes: a plain loop.

/** sum (or mean) of `x` [shape] over `axes` (non-negative), in the kept axes' row-major order. */
export function sumRef(x: Float64Array, shape: readonly number[], axes: readonly number[], mean = false): Float64Array {
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outSize = kept.reduce((a, b) => a * b, 1);
  const out = new Float64Array(outSize);
  for (let i = 0; i < x.length; i++) {
    let rest = i;
    let at = 0;
    let stride = 1;
    for (let d = shape.length - 1; d >= 0; d--) {
      const c = rest % shape[d];
      rest = Math.floor(rest / shape[d]);
      if (kept[d] !== 1) {
        at += c * stride;
        stride *= kept[d];
      }
    }
    out[at] += x[i];
  }
  if (mean) {
    const count = x.length / outSize;
    for (let k = 0; k < outSize; k++) out[k] /= count;
  }
  return out;
}
