// Checks the float64 LMFN reference itself (tests/ref/lmfn64.ts): parameter
// table, op forwards on hand-computed cases, op backwards by finite differences,
// a few whole-model gradients by finite differences, and, when ../shared/golden
// exists, forward / activations / all gradients against the PyTorch golden case.
// Imports nothing from the engine: this is the yardstick the engine is held to.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tape, lmfnLossAndGrads, lmfnParameterSpecs, lmfnRandomWeights, lmfnReference, type T64 } from './ref/lmfn64.ts';
import { GOLDEN_DIR, compareWithGolden, goldenAvailable } from './ref/lmfn-golden.ts';
import { rng } from './ref/rng.ts';

const r = rng(2024);
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

function assertNear(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-6, atol = 1e-9): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= atol + rtol * Math.abs(expected[i]))) assert.unreachable(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
  }
}

/** Runs `fn` on a fresh tape; leaves are variables when `grad`, constants otherwise. */
function run(fn: (t: Tape, xs: T64[]) => T64, data: Float64Array[], shapes: number[][], grad: boolean) {
  const tape = new Tape();
  const xs = data.map((d, k) => (grad ? tape.variable(d, shapes[k]) : tape.constant(d, shapes[k])));
  return { tape, xs, out: fn(tape, xs) };
}

/** Tape gradients of L = Σ u ⊙ fn(x) against central differences of the forward. */
function fdCheck(name: string, shapes: number[][], fn: (t: Tape, xs: T64[]) => T64, opts: { lo?: number; hi?: number; eps?: number } = {}) {
  const data = shapes.map((s) => r.uniform(size(s), opts.lo ?? -1, opts.hi ?? 1));
  const { tape, xs, out } = run(fn, data, shapes, true);
  const u = r.uniform(out.data.length);
  tape.backward(out, u);
  const loss = () => {
    const y = run(fn, data, shapes, false).out.data;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += u[i] * y[i];
    return s;
  };
  const eps = opts.eps ?? 1e-6;
  data.forEach((d, k) => {
    const numeric = new Float64Array(d.length);
    for (let j = 0; j < d.length; j++) {
      const orig = d[j];
      d[j] = orig + eps;
      const lp = loss();
      d[j] = orig - eps;
      const lm = loss();
      d[j] = orig;
      numeric[j] = (lp - lm) / (2 * eps);
    }
    assertNear(xs[k].grad ?? new Float64Array(d.length), numeric, `${name} d/dinput${k}`, 1e-5, 1e-7);
  });
}

// ------------------------------------------------------------ parameters

test('parameter table: 176 tensors, 1,223,766 values, spec per-part totals', () => {
  const specs = lmfnParameterSpecs();
  assert.is(specs.length, 176);
  assert.is(new Set(specs.map((s) => s.name)).size, 176);
  const count = (pred: (n: string) => boolean) => specs.filter((s) => pred(s.name)).reduce((a, s) => a + size(s.shape), 0);
  assert.is(count(() => true), 1_223_766);
  assert.is(count((n) => n.startsWith('encoder.')), 740_352);
  assert.is(count((n) => n.startsWith('decoder.')), 483_414);
  assert.is(count((n) => n.startsWith('decoder.rfdb.2.')), 94_450);
  assert.is(count((n) => n.startsWith('decoder.rfdb.0.esa.')), 6_650);
  assert.is(count((n) => n.startsWith('decoder.acfm.')), 15);
  assert.equal(specs[0], { name: 'encoder.head.weight', shape: [64, 3, 3, 3] });
  assert.equal(specs[175], { name: 'decoder.tail.bias', shape: [48] });
});

test('random weights: deterministic, float32-exact, θ and α non-zero', () => {
  const a = lmfnRandomWeights(3);
  const b = lmfnRandomWeights(3);
  const c = lmfnRandomWeights(4);
  for (const { name, shape } of lmfnParameterSpecs()) {
    const w = a.get(name)!;
    assert.is(w.length, size(shape), name);
    assert.equal(w, b.get(name), name);
    for (const v of w) if (Math.fround(v) !== v) assert.unreachable(`${name} not float32-exact`);
  }
  assert.not.equal(a.get('encoder.head.weight'), c.get('encoder.head.weight'));
  assert.is(a.get('decoder.alfm.theta')![0], Math.fround(0.3));
  assert.is(a.get('decoder.acfm.alpha')![0], Math.fround(0.7));
  assert.is(lmfnRandomWeights(3, { theta: 0 }).get('decoder.alfm.theta')![0], 0);
});

// ------------------------------------------------------------ op forwards

test('forwards on hand-computed cases', () => {
  const t = new Tape();
  // conv: 1×1 input channel, 2×3 image, 2×2 kernel, stride 1, pad 0.
  const x = t.constant(Float64Array.of(1, 2, 3, 4, 5, 6), [1, 1, 2, 3]);
  const w = t.constant(Float64Array.of(1, 10, 100, 1000), [1, 1, 2, 2]);
  assert.equal([...t.conv2d(x, w, t.constant(Float64Array.of(0.5), [1]), 1, 0).data], [5421.5, 6532.5]);
  // stride 2, pad 1: windows start at (−1,−1) and (−1,1).
  const y = t.conv2d(x, w, null, 2, 1);
  assert.equal(y.shape, [1, 1, 2, 2]);
  assert.equal([...y.data], [1000 * 1, 100 * 2 + 1000 * 3, 10 * 4, 5 + 10 * 6]);
  // bilinear ×2 along a row [1, 2] → [1, 1.25, 1.75, 2]; 1×1 → constant.
  assert.equal([...t.resizeBilinear(t.constant(Float64Array.of(1, 2), [1, 1, 1, 2]), 1, 4).data], [1, 1.25, 1.75, 2]);
  assert.equal([...t.resizeBilinear(t.constant(Float64Array.of(7), [1, 1, 1, 1]), 2, 3).data], [7, 7, 7, 7, 7, 7]);
  // 3 → 2: scale 1.5, src = 0.25 and 1.75.
  assertNear(t.resizeBilinear(t.constant(Float64Array.of(0, 4, 8), [1, 1, 1, 3]), 1, 2).data, [1, 7], 'bilinear 3→2');
  // max-pool ties: the first maximum takes the whole gradient.
  const gt = new Tape();
  const ties = gt.variable(new Float64Array(49).fill(2), [1, 1, 7, 7]);
  gt.backward(gt.maxPool2d(ties, 7, 3), Float64Array.of(5));
  assert.is(ties.grad![0], 5);
  assert.is(ties.grad!.reduce((a, b) => a + b, 0), 5);
  assert.equal([...t.maxPool2d(t.constant(Float64Array.from({ length: 100 }, (_, i) => i), [1, 1, 10, 10]), 7, 3).data], [66, 69, 96, 99]);
  // pixel shuffle: out[c, 4h+i, 4w+j] = in[16c + 4i + j, h, w].
  const ps = t.pixelShuffle(t.constant(Float64Array.from({ length: 48 * 2 }, (_, i) => i), [1, 48, 1, 2]), 4);
  assert.equal(ps.shape, [1, 3, 4, 8]);
  assert.is(ps.data[(2 * 4 + 3) * 8 + 4 + 1], (16 * 2 + 4 * 3 + 1) * 2 + 1);
  // softmax(−E) prefers the smallest energy.
  const sm = t.softmaxNegRows(t.constant(Float64Array.of(0, Math.log(2)), [1, 1, 2]));
  assertNear(sm.data, [2 / 3, 1 / 3], 'softmax(−E)');
  // pseudo-3D conv: depth taps see zero outside channels 0..C−1.
  const v = t.constant(Float64Array.of(1, 2, 3), [1, 3, 1, 1]);
  const depth = t.conv3dDepth(v, t.constant(Float64Array.of(1, 10, 100), [1, 1, 3, 1, 1]), t.constant(Float64Array.of(0), [1]));
  assert.equal([...depth.data], [10 + 200, 1 + 20 + 300, 2 + 30]);
  assertNear(t.mseLoss(t.constant(Float64Array.of(1, 3), [2]), Float64Array.of(0, 1)).data, [2.5], 'mse');
});

// ------------------------------------------------------------ op backwards

test('conv2d gradients: s1 p1, s2 p1, s2 p0, 1×1, batch 2, odd sizes', () => {
  for (const [xs, ws, s, p] of [
    [[2, 3, 5, 7], [4, 3, 3, 3], 1, 1],
    [[2, 2, 7, 6], [3, 2, 3, 3], 2, 1],
    [[2, 3, 7, 5], [2, 3, 3, 3], 2, 0],
    [[1, 5, 3, 4], [3, 5, 1, 1], 1, 0],
    [[1, 2, 1, 1], [3, 2, 3, 3], 1, 1],
  ] as [number[], number[], number, number][]) {
    fdCheck(`conv2d s${s} p${p} ${xs}`, [xs, ws, [ws[0]]], (t, [x, w, b]) => t.conv2d(x, w, b, s, p));
  }
});

test('pointwise, concat, pixel shuffle, mse gradients', () => {
  fdCheck('leakyRelu', [[2, 3, 4, 5]], (t, [x]) => t.leakyRelu(x, 0.05));
  fdCheck('relu', [[1, 2, 3, 3]], (t, [x]) => t.relu(x));
  fdCheck('sigmoid', [[1, 2, 3, 3]], (t, [x]) => t.sigmoid(x));
  fdCheck('add/mul/scale', [[2, 3, 2, 2], [2, 3, 2, 2], [1]], (t, [a, b, s]) => t.scale(s, t.mul(t.add(a, b), a)));
  fdCheck('concat', [[2, 3, 2, 3], [2, 1, 2, 3], [2, 2, 2, 3]], (t, [a, b, c]) => t.mul(t.concatChannels([a, b, c]), t.concatChannels([c, a, b])));
  fdCheck('pixelShuffle 4', [[2, 32, 2, 3]], (t, [x]) => t.pixelShuffle(x, 4));
  fdCheck('mean shift', [[2, 3, 2, 2]], (t, [x]) => t.mul(t.addChannelConstant(x, [0.1, -0.2, 0.3]), x));
  const target = r.uniform(30);
  fdCheck('mse', [[2, 3, 5]], (t, [x]) => t.mseLoss(x, target));
});

test('bilinear gradients: ×2, arbitrary up and down, 1×1 source', () => {
  fdCheck('bilinear ×2', [[2, 3, 3, 5]], (t, [x]) => t.resizeBilinear(x, 6, 10));
  fdCheck('bilinear 3×4 → 7×5', [[1, 2, 3, 4]], (t, [x]) => t.resizeBilinear(x, 7, 5));
  fdCheck('bilinear 9×7 → 4×6', [[1, 2, 9, 7]], (t, [x]) => t.resizeBilinear(x, 4, 6));
  fdCheck('bilinear 1×1 → 5×3', [[2, 3, 1, 1]], (t, [x]) => t.resizeBilinear(x, 5, 3));
});

test('maxpool 7/3 gradients', () => {
  fdCheck('maxpool 7/3 on 13×11', [[2, 3, 13, 11]], (t, [x]) => t.maxPool2d(x, 7, 3));
  fdCheck('maxpool 7/3 on 7×7', [[1, 2, 7, 7]], (t, [x]) => t.maxPool2d(x, 7, 3));
});

/** The ALFM block exactly as lmfnForward builds it (LMFN.md §5.3). */
function alfm(t: Tape, layers: T64[], theta: T64): T64 {
  const [B, C, h, w] = layers[0].shape;
  const X = t.reshape(t.concatChannels(layers), [B, layers.length * C, h * w]);
  const A = t.softmaxNegRows(t.matmulNT(X, X));
  return t.reshape(t.add(t.scale(theta, t.matmulNN(A, X)), X), [B, layers.length * C, h, w]);
}

test('ALFM gradients (matmuls, softmax of −E, θ), batch 2', () => {
  fdCheck('matmulNT', [[2, 3, 5], [2, 4, 5]], (t, [a, b]) => t.matmulNT(a, b));
  fdCheck('matmulNN', [[2, 3, 4], [2, 4, 5]], (t, [a, b]) => t.matmulNN(a, b));
  fdCheck('softmaxNegRows', [[2, 3, 5]], (t, [e]) => t.softmaxNegRows(e), { lo: -2, hi: 2 });
  fdCheck('ALFM', [[2, 3, 2, 3], [2, 3, 2, 3], [2, 3, 2, 3], [2, 3, 2, 3], [1]], (t, [a, b, c, d, th]) => alfm(t, [a, b, c, d], th), { lo: -0.7, hi: 0.7 });
});

test('ACFM gradients (pseudo-3D conv pair, sigmoid gate, α), batch 2', () => {
  fdCheck('conv3dSpatial', [[2, 3, 4, 5], [1, 1, 1, 3, 3], [1]], (t, [x, w, b]) => t.conv3dSpatial(x, w, b));
  fdCheck('conv3dDepth', [[2, 4, 2, 3], [1, 1, 3, 1, 1], [1]], (t, [v, w, b]) => t.conv3dDepth(v, w, b));
  fdCheck('ACFM', [[2, 5, 3, 4], [1, 1, 1, 3, 3], [1], [1, 1, 3, 1, 1], [1], [1]], (t, [x, w1, b1, w2, b2, alpha]) => {
    const gate = t.sigmoid(t.conv3dDepth(t.conv3dSpatial(x, w1, b1), w2, b2));
    return t.add(x, t.scale(alpha, t.mul(gate, x)));
  });
});

// ------------------------------------------------------------ whole model

test('LMFN 64×64: loss gradients of sampled parameters match finite differences', () => {
  const weights = lmfnRandomWeights(11);
  const shape: [number, number, number, number] = [1, 3, 64, 64];
  const input = r.uniform(size(shape), 0, 1);
  const target = r.uniform(size(shape), 0, 1);
  const res = lmfnLossAndGrads(weights, input, shape, target);
  assert.is(res.grads.size, 176);
  const lossAt = () => {
    const y = lmfnReference(weights, input, shape);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += (y[i] - target[i]) ** 2;
    return s / y.length;
  };
  assertNear([lossAt()], [res.loss], 'loss', 1e-12);
  // Gradients here are ~1e-6 and ReLU/max-pool kinks sit everywhere in a 64×64
  // net, so the central difference is only good to ~1e-4: the bound catches a
  // missing or wrong path (O(1) errors), and golden holds the fine accuracy.
  const eps = 1e-6;
  for (const [name, idx] of [
    ['decoder.alfm.theta', 0],
    ['decoder.rfdb.2.esa.conv_max.bias', 3],
    ['encoder.head.weight', 5],
  ] as [string, number][]) {
    const w = weights.get(name)!;
    const orig = w[idx];
    w[idx] = orig + eps;
    const lp = lossAt();
    w[idx] = orig - eps;
    const lm = lossAt();
    w[idx] = orig;
    const numeric = (lp - lm) / (2 * eps);
    const analytic = res.grads.get(name)![idx];
    assert.ok(Math.abs(analytic - numeric) <= 1e-3 * Math.abs(numeric) + 1e-11, `${name}[${idx}]: tape ${analytic}, finite difference ${numeric}`);
  }
});

test('LMFN against the PyTorch golden case (../shared/golden), when present', () => {
  if (!goldenAvailable()) {
    console.log(`# skipped: no golden case at ${GOLDEN_DIR}`);
    return;
  }
  const report = compareWithGolden();
  assert.ok(report.keyOrderMatches, 'parameter order differs from the golden weights file');
  assert.ok(report.activations.length >= 100, `only ${report.activations.length} activations compared`);
  for (const a of report.activations) assert.ok(a.rel < 1e-5, `activation ${a.name}: relative error ${a.rel}`);
  assert.ok(report.outputRel < 1e-5, `output: relative error ${report.outputRel}`);
  assert.ok(report.lossRel < 1e-5, `loss: relative error ${report.lossRel}`);
  assert.is(report.grads.length, 177);
  for (const g of report.grads) assert.ok(g.rel < 1e-4, `grad.${g.name}: relative error ${g.rel}`);
});

test.run();
