// Kernel-family checks and LMFN's gradient check, run inside a web page on the
// browser's own WebGPU through the engine's browser build (tests/web-kernels.test.ts
// bundles this file and reads `window.inPage`). The same float64 references as
// the Node tests (tests/ref/), the same tolerances (tests/helpers.ts); the
// engine side is engine/browser/index.ts, so this is the code a page runs.

import { init, noGrad, ops, tensor, useKernelFamily, type Device, type KernelFamily, type Tensor } from '../../engine/browser/index.ts';
import { LMFN } from '../../model/lmfn.ts';
import { conv2dInputGradRef, conv2dOutShape, conv2dRef, conv2dWeightGradRef, type Conv2dRefShape } from '../ref/conv2d.ts';
import { lmfnGradientCase } from '../ref/lmfn64.ts';
import { matmulRef } from '../ref/matmul.ts';
import { rng } from '../ref/rng.ts';

export interface CaseResult {
  name: string;
  /** Empty when every value is within tolerance; else what went wrong. */
  failures: string[];
  ms: number;
}

function maxAbs(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}

/** |got − ref| ≤ atol + rtol·|ref| everywhere, atol scaled by the reference's size; the worst offender when not. */
function close(got: ArrayLike<number>, ref: ArrayLike<number>, what: string, rtol: number, atolScale: number): string[] {
  if (got.length !== ref.length) return [`${what}: ${got.length} values, expected ${ref.length}`];
  const atol = atolScale * Math.max(1, maxAbs(ref));
  let worst = -1;
  let excess = 0;
  for (let i = 0; i < ref.length; i++) {
    const over = Math.abs(got[i] - ref[i]) - (atol + rtol * Math.abs(ref[i]));
    if (!(over <= excess)) [worst, excess] = [i, Number.isNaN(over) ? Infinity : over];
  }
  return worst < 0 ? [] : [`${what}: at ${worst} got ${got[worst]}, expected ${ref[worst]}`];
}
const forward = (got: ArrayLike<number>, ref: ArrayLike<number>, what: string) => close(got, ref, what, 1e-4, 1e-5);
const gradient = (got: ArrayLike<number>, ref: ArrayLike<number>, what: string) => close(got, ref, what, 1e-3, 1e-4);

const f32 = (v: Float64Array) => Float64Array.from(v, Math.fround);

async function conv2dCase(device: Device, shape: Required<Conv2dRefShape>, seed: number): Promise<string[]> {
  const r = rng(seed);
  const x = f32(r.uniform(shape.x.reduce((a, b) => a * b)));
  const w = f32(r.uniform(shape.w.reduce((a, b) => a * b), -0.5, 0.5));
  const b = f32(r.uniform(shape.w[0]));
  const out = conv2dOutShape(shape);
  const g = f32(r.uniform(out.reduce((a, b) => a * b)));
  const [tx, tw, tb] = [tensor(Float32Array.from(x), shape.x, { device, requiresGrad: true }), tensor(Float32Array.from(w), shape.w, { device, requiresGrad: true }), tensor(Float32Array.from(b), [shape.w[0]], { device, requiresGrad: true })];
  const y = ops.conv2d(tx, tw, tb, { stride: shape.stride, padding: shape.padding });
  // loss = Σ y·g, so dL/dy = g.
  ops.sum(ops.mul(y, tensor(Float32Array.from(g), out, { device }))).backward();
  const { dw, db } = conv2dWeightGradRef(shape, g, x);
  const failures = [
    ...forward(await y.read(), conv2dRef(shape, x, w, b), 'y'),
    ...gradient(await tx.grad!.read(), conv2dInputGradRef(shape, g, w), 'dx'),
    ...gradient(await tw.grad!.read(), dw, 'dw'),
    ...gradient(await tb.grad!.read(), db, 'db'),
  ];
  noGrad(() => [tx, tw, tb, y].forEach((t) => t.dispose()));
  return failures;
}

async function matmulCase(device: Device, seed: number): Promise<string[]> {
  const [batch, m, k, n] = [3, 37, 29, 19];
  const r = rng(seed);
  const a = f32(r.uniform(batch * k * m)); // stored [B, K, M]: used transposed
  const b = f32(r.uniform(batch * k * n));
  const ta = tensor(Float32Array.from(a), [batch, k, m], { device, requiresGrad: true });
  const tb = tensor(Float32Array.from(b), [batch, k, n], { device, requiresGrad: true });
  const c = ops.matmul(ta, tb, { transA: true });
  ops.sum(ops.square(c)).backward();
  const dims = { batch, m, n, k, transA: true, batchedA: true, batchedB: true };
  const cRef = matmulRef(a, b, dims);
  const dc = cRef.map((v) => 2 * v);
  // dA (stored [K, M]) = B·dCᵀ per batch; dB = op(A)ᵀ·dC = A_stored·dC.
  const daRef = matmulRef(b, dc, { batch, m: k, n: m, k: n, transB: true, batchedA: true, batchedB: true });
  const dbRef = matmulRef(a, dc, { batch, m: k, n, k: m, batchedA: true, batchedB: true });
  const failures = [...forward(await c.read(), cRef, 'C'), ...gradient(await ta.grad!.read(), daRef, 'dA'), ...gradient(await tb.grad!.read(), dbRef, 'dB')];
  noGrad(() => [ta, tb, c].forEach((t) => t.dispose()));
  return failures;
}

/** LMFN's output, loss and all 176 gradients at 1×3×64×64 against the float64 model (as tests/lmfn.test.ts). */
async function lmfnCase(device: Device): Promise<string[]> {
  const { shape, weights, input, target, ref } = lmfnGradientCase();
  const model = new LMFN(device);
  const shapes = new Map(model.namedParameters().map(([n, t]) => [n, t.shape] as const));
  model.loadStateDict(new Map([...weights].map(([n, v]) => [n, { shape: shapes.get(n)!, data: Float32Array.from(v) }])));
  const x = tensor(Float32Array.from(input), shape, { device });
  const y = tensor(Float32Array.from(target), shape, { device });
  const out = model.forward(x);
  const loss = ops.mseLoss(out, y);
  loss.backward();
  const failures = [...close(await out.read(), ref.output, 'output', 1e-4, 1e-4 * maxAbs(ref.output)), ...close([await loss.item()], [ref.loss], 'loss', 1e-4, 0)];
  for (const [name, t] of model.namedParameters()) {
    const expected = ref.grads.get(name)!;
    failures.push(...close(await t.grad!.read(), expected, `grad ${name}`, 2e-3, 2e-3 * maxAbs(expected) + 1e-9));
  }
  noGrad(() => ([x, y, out, loss] as Tensor[]).forEach((t) => t.dispose()));
  model.dispose();
  return failures;
}

async function timed(name: string, job: () => Promise<string[]>): Promise<CaseResult> {
  const t0 = performance.now();
  try {
    return { name, failures: await job(), ms: performance.now() - t0 };
  } catch (e) {
    return { name, failures: [`threw ${(e as Error).name}: ${(e as Error).message}`], ms: performance.now() - t0 };
  }
}

/** Every case, in order; `families` picks the kernel families (the page's default is what the adapter gets). */
export async function runInPage(families: KernelFamily[], withLmfn: boolean): Promise<{ adapter: Device['description']; results: CaseResult[] }> {
  const device = await init();
  const results: CaseResult[] = [];
  for (const family of families) {
    useKernelFamily(device, family);
    const convs: [string, Required<Conv2dRefShape>][] = [
      ['3×3', { x: [2, 5, 13, 11], w: [7, 5, 3, 3], stride: [1, 1], padding: [1, 1] }],
      ['3×3 stride 2', { x: [1, 6, 15, 10], w: [9, 6, 3, 3], stride: [2, 2], padding: [1, 1] }],
      ['1×1', { x: [2, 12, 7, 9], w: [5, 12, 1, 1], stride: [1, 1], padding: [0, 0] }],
    ];
    for (const [i, [label, shape]] of convs.entries()) results.push(await timed(`${family}: conv2d ${label}`, () => conv2dCase(device, shape, 100 + i)));
    results.push(await timed(`${family}: batched matmul, A transposed`, () => matmulCase(device, 200)));
  }
  if (withLmfn) results.push(await timed(`${families[families.length - 1]}: LMFN output and 176 gradients, 1×3×64×64`, () => lmfnCase(device)));
  return { adapter: device.description, results };
}

(window as unknown as { runInPage: typeof runInPage }).runInPage = runInPage;
