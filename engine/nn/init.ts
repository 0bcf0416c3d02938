// Weight initialisers (PyTorch's formulas), drawing from a seeded Random.

import type { Random } from '../random.ts';

/** U(−bound, bound). PyTorch's default Conv/Linear init uses bound = 1/√fan_in for weight and bias. */
export function uniform(rng: Random, n: number, bound: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform(-bound, bound);
  return out;
}

/** N(0, (gain/√fan_in)²), i.e. kaiming_normal_(mode='fan_in'); gain √2 for ReLU. */
export function kaimingNormal(rng: Random, n: number, fanIn: number, gain = Math.SQRT2): Float32Array {
  const std = gain / Math.sqrt(fanIn);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = std * rng.normal();
  return out;
}
