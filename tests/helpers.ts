// Shared test utilities: one device for the whole run, a seeded RNG, closeness
// assertions with stated tolerances, and a float64 finite-difference gradcheck.
//
// Tolerances (float32 GPU results against float64 references):
//   forward:  |actual − expected| ≤ atol + rtol·|expected|, rtol = 1e-4,
//             atol = 1e-5 · max(1, max|expected|)
//   gradient: rtol = 1e-3, atol = 1e-4 · max(1, max|expected|); the numeric
//             gradient is a central difference of the float64 reference
//             (ε = 1e-6), so its own error is ~1e-9 and the bound is the GPU's.

import { Device, Tensor, noGrad } from '../engine/node/index.ts';

let shared: Promise<Device> | undefined;

/** The test device: WGRAD_ADAPTER (default 'auto') picks the adapter. */
export function testDevice(): Promise<Device> {
  shared ??= Device.create().then((d) => {
    console.log(`# ${d.summary()}`);
    return d;
  });
  return shared;
}

import { rng } from './ref/rng.ts';

export { rng };

/** float64 → float32 → float64, so a reference sees exactly the values the GPU sees. */
export function asF32(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(Float32Array.from(x as ArrayLike<number>));
}

export interface Tolerance {
  rtol?: number;
  atol?: number;
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol: Tolerance = {}): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: ${actual.length} values, expected ${expected.length}`);
  }
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  const rtol = tol.rtol ?? 1e-4;
  const atol = tol.atol ?? 1e-5 * scale;
  let worst = -1;
  let worstExcess = 0;
  let bad = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    const excess = err - (atol + rtol * Math.abs(expected[i]));
    if (!(excess <= 0)) {
      bad++;
      if (worst < 0 || excess > worstExcess || Number.isNaN(excess)) {
        worst = i;
        worstExcess = excess;
      }
    }
  }
  if (bad) {
    throw new Error(
      `${what}: ${bad}/${expected.length} values off; worst at [${worst}]: got ${actual[worst]}, expected ${expected[worst]} ` +
        `(rtol ${rtol}, atol ${atol.toExponential(2)})`,
    );
  }
}

export interface GradInput {
  data: Float64Array;
  shape: number[];
  /** Check this input's gradient (default true). */
  grad?: boolean;
}

export interface GradcheckOptions {
  forward?: Tolerance;
  gradient?: Tolerance;
  /** Finite-difference step in float64 (default 1e-6). */
  eps?: number;
  /** Check at most this many elements per input, chosen at random (default: all). */
  maxChecks?: number;
  seed?: number;
}

/**
 * Checks an op's forward against a float64 reference, and its backward against
 * central differences of that reference. The scalar used is L = Σ r ⊙ f(x)
 * with a random r, so every output element's gradient path is exercised.
 */
export async function gradcheck(
  name: string,
  inputs: GradInput[],
  engineFn: (xs: Tensor[]) => Tensor,
  refFn: (xs: Float64Array[]) => Float64Array,
  options: GradcheckOptions = {},
): Promise<void> {
  const device = await testDevice();
  const r = rng(options.seed ?? 1234);
  const xs64 = inputs.map((i) => asF32(i.data));
  const expected = refFn(xs64);
  const tensors = inputs.map((inp, k) => {
    const t = Tensor.fromData(device, Float32Array.from(xs64[k]), inp.shape);
    if (inp.grad !== false) t.requireGrad();
    return t;
  });
  const out = engineFn(tensors);
  assertClose(await out.read(), expected, `${name} forward`, options.forward);
  const upstream = asF32(r.uniform(expected.length));
  const seed = Tensor.fromData(device, Float32Array.from(upstream), out.shape);
  out.backward(seed);
  const eps = options.eps ?? 1e-6;
  const loss = (xs: Float64Array[]) => {
    const y = refFn(xs);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += upstream[i] * y[i];
    return s;
  };
  for (let k = 0; k < inputs.length; k++) {
    if (inputs[k].grad === false) continue;
    const t = tensors[k];
    if (!t.grad) throw new Error(`${name}: input ${k} got no gradient`);
    const got = await t.grad.read();
    const n = xs64[k].length;
    let idx = [...Array(n).keys()];
    if (options.maxChecks !== undefined && n > options.maxChecks) {
      idx = [0, n - 1, ...Array.from({ length: options.maxChecks - 2 }, () => Math.floor(r.next() * n))];
    }
    const numeric = new Float64Array(idx.length);
    const analytic = new Float64Array(idx.length);
    idx.forEach((j, m) => {
      const x = xs64[k];
      const orig = x[j];
      x[j] = orig + eps;
      const lp = loss(xs64);
      x[j] = orig - eps;
      const lm = loss(xs64);
      x[j] = orig;
      numeric[m] = (lp - lm) / (2 * eps);
      analytic[m] = got[j];
    });
    assertClose(analytic, numeric, `${name} gradient of input ${k}`, options.gradient ?? { rtol: 1e-3, atol: 1e-4 * Math.max(1, maxAbs(numeric)) });
  }
  noGrad(() => [out, seed, ...tensors, ...tensors.map((t) => t.grad)].forEach((t) => t?.dispose()));
}

export function maxAbs(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

/** Asserts that `fn` throws an error of class `type` whose message contains each of `parts`. */
export async function assertThrows(fn: () => unknown, type: new (...a: never[]) => Error, ...parts: string[]): Promise<void> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof type)) throw new Error(`expected ${type.name}, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  for (const p of parts) if (!caught.message.includes(p)) throw new Error(`error message "${caught.message}" lacks "${p}"`);
}
