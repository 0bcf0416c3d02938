// The seeded generator every test uses. It imports nothing from the engine, so the
// float64 references (tests/ref/) can share it and stay independent of the code they check.

/** mulberry32: small, fast, seedable. */
export function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    uniform(n: number, lo = -1, hi = 1): Float64Array {
      return Float64Array.from({ length: n }, () => lo + (hi - lo) * next());
    },
    normal(n: number, std = 1): Float64Array {
      return Float64Array.from({ length: n }, () => {
        const u = Math.max(next(), 1e-12);
        return std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
      });
    },
  };
}
