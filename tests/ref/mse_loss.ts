// float64 references for the losses. No engine code.

/** mean((a − b)²) as a one-element array. */
export function mseLossRef(a: Float64Array, b: Float64Array): Float64Array {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return Float64Array.of(s / a.length);
}
