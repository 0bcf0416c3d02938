// float64 reference for the elementwise ops: a binary op under NumPy broadcasting
// (the unary ops' references are one-liners beside their tests).

/** float64 reference of broadcasting a binary op (NumPy rules). */
export function broadcastRef(op: (a: number, b: number) => number, sa: number[], sb: number[]) {
  const rank = Math.max(sa.length, sb.length);
  const pa = [...Array(rank - sa.length).fill(1), ...sa];
  const pb = [...Array(rank - sb.length).fill(1), ...sb];
  const out = pa.map((d, i) => Math.max(d, pb[i]));
  const n = out.reduce((x, y) => x * y, 1);
  return ([a, b]: Float64Array[]) => {
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let rest = i;
      let ia = 0;
      let ib = 0;
      let sA = 1;
      let sB = 1;
      for (let d = rank - 1; d >= 0; d--) {
        const c = rest % out[d];
        rest = Math.floor(rest / out[d]);
        ia += (pa[d] === 1 ? 0 : c) * sA;
        ib += (pb[d] === 1 ? 0 : c) * sB;
        sA *= pa[d];
        sB *= pb[d];
      }
      y[i] = op(a[ia], b[ib]);
    }
    return y;
  };
}
