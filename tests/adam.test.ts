import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DisposedError, EngineError, Tensor, ops, tidy } from '../engine/node/index.ts';
import { Adam, type AdamState } from '../engine/optim/adam.ts';
import { asF32, assertClose, assertThrows, rng, testDevice } from './helpers.ts';
import { AdamRef } from './ref/adam.ts';

const r = rng(5);
const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
// Odd sizes: none is a multiple of the arena alignment, one is a single element.
const shapes = [[3], [5, 7], [1], [13, 3, 3, 3]];
const hyper = { lr: 1e-2, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 1e-4 };
// float32 state against a float64 reference over a few steps.
const tol = { rtol: 1e-5, atol: 1e-6 };

async function makeParams(values = shapes.map((s) => asF32(r.uniform(size(s))))) {
  const d = await testDevice();
  const params = values.map((v, i) => {
    const p = Tensor.fromData(d, Float32Array.from(v), shapes[i]).requireGrad().keep();
    p.name = `p${i}`;
    return p;
  });
  return { d, params, values };
}

const randomGrads = () => shapes.map((s) => asF32(r.uniform(size(s))));

function writeGrads(params: Tensor[], grads: Float64Array[]) {
  params.forEach((p, i) => p.grad!.write(Float32Array.from(grads[i])));
}

async function expectParams(params: Tensor[], expected: Float64Array[], what: string) {
  for (let i = 0; i < params.length; i++) assertClose(await params[i].read(), expected[i], `${what}: p${i}`, tol);
}

const disposeAll = (params: Tensor[], opt?: Adam) => {
  opt?.dispose();
  for (const p of params) {
    p.grad?.dispose();
    p.dispose();
  }
};

test('construction keeps values, gives zeroed arena grads, and backward accumulates into them', async () => {
  const { d, params, values } = await makeParams();
  // A gradient that exists before the optimizer is carried into the arena.
  ops.sum(ops.mul(params[1], params[1])).backward();
  const opt = new Adam(params, hyper);
  await expectParams(params, values, 'after construction');
  assertClose(await params[1].grad!.read(), values[1].map((x) => 2 * x), 'earlier grad carried over');
  for (const i of [0, 2, 3]) assertClose(await params[i].grad!.read(), new Float64Array(values[i].length), `p${i}.grad`);
  const align = d.limits.minStorageBufferOffsetAlignment;
  assert.ok(params.every((p) => p.storage() === params[0].storage() && p.byteOffset % align === 0), 'one arena, aligned views');
  tidy(() => ops.sum(ops.mul(params[3], params[3])).backward());
  assertClose(await params[3].grad!.read(), values[3].map((x) => 2 * x), 'backward writes into the arena grad');
  opt.zeroGrad();
  for (const [i, p] of params.entries()) assertClose(await p.grad!.read(), new Float64Array(values[i].length), `zeroed p${i}.grad`);
  disposeAll(params, opt);
});

test('backward adds into the arena in batches (8 + 3 leaves per dispatch): 11 odd-sized parameters, twice', async () => {
  const d = await testDevice();
  const sizes = [3, 35, 1, 351, 4, 8, 9, 17, 2, 64, 5];
  const values = sizes.map((n) => asF32(r.uniform(n)));
  const params = values.map((v) => Tensor.fromData(d, Float32Array.from(v), [v.length]).requireGrad().keep());
  const opt = new Adam(params, hyper);
  const loss = () => tidy(() => params.map((p) => ops.sum(ops.mul(p, p))).reduce((a, b) => ops.add(a, b)).backward());
  loss();
  loss();
  for (const [i, p] of params.entries()) assertClose(await p.grad!.read(), values[i].map((x) => 4 * x), `q${i}.grad after two backward passes`);
  disposeAll(params, opt);
});

test('6 steps match PyTorch Adam (L2 weight decay), one dispatch per step', async () => {
  const { d, params, values } = await makeParams();
  const opt = new Adam(params, hyper);
  const ref = new AdamRef(values.map((v) => Float64Array.from(v)), hyper);
  for (let s = 0; s < 6; s++) {
    const grads = randomGrads();
    writeGrads(params, grads);
    const before = d.dispatchCount;
    opt.step();
    assert.is(d.dispatchCount - before, 1, 'one dispatch');
    ref.step(grads);
  }
  assert.is(opt.stepCount, 6);
  await expectParams(params, ref.params, 'after 6 steps');
  const state = await opt.state();
  assert.is(state.step, 6);
  state.m.forEach((m, i) => assertClose(m, ref.m[i], `m${i}`, tol));
  state.v.forEach((v, i) => assertClose(v, ref.v[i], `v${i}`, { rtol: 1e-5, atol: 1e-9 }));
  disposeAll(params, opt);
});

test('defaults are PyTorch`s, and a changed lr takes effect at the next step', async () => {
  const { params, values } = await makeParams();
  const opt = new Adam(params);
  assert.equal([opt.lr, opt.betas, opt.eps, opt.weightDecay], [1e-3, [0.9, 0.999], 1e-8, 0]);
  const ref = new AdamRef(values.map((v) => Float64Array.from(v)), { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 });
  for (const lr of [1e-3, 1e-3, 5e-2, 5e-2, 2e-4]) {
    opt.lr = lr;
    ref.lr = lr;
    const grads = randomGrads();
    writeGrads(params, grads);
    opt.step();
    ref.step(grads);
  }
  await expectParams(params, ref.params, 'with an lr schedule');
  disposeAll(params, opt);
});

test('state() / loadState() resume exactly', async () => {
  const a = await makeParams();
  const optA = new Adam(a.params, hyper);
  for (let s = 0; s < 3; s++) {
    writeGrads(a.params, randomGrads());
    optA.step();
  }
  const saved = await optA.state();
  const b = await makeParams(await Promise.all(a.params.map(async (p) => Float64Array.from(await p.read()))));
  const optB = new Adam(b.params, hyper);
  optB.loadState(saved);
  assert.is(optB.stepCount, 3);
  for (let s = 0; s < 2; s++) {
    const grads = randomGrads();
    writeGrads(a.params, grads);
    writeGrads(b.params, grads);
    optA.step();
    optB.step();
  }
  for (let i = 0; i < shapes.length; i++) assert.equal(await b.params[i].read(), await a.params[i].read(), `p${i} identical`);
  const [sa, sb] = [await optA.state(), await optB.state()];
  assert.equal(sb, sa, 'identical moments');

  const bad = (change: Partial<AdamState>) => optB.loadState({ ...saved, ...change });
  await assertThrows(() => bad({ m: saved.m.slice(1) }), EngineError, '3 m arrays for 4 parameters');
  await assertThrows(() => bad({ v: [saved.v[0], saved.v[1], saved.v[2], new Float32Array(5)] }), EngineError, 'v[3]', '5 values', '351');
  await assertThrows(() => bad({ step: -1 }), EngineError, 'step');
  disposeAll(a.params, optA);
  disposeAll(b.params, optB);
});

test('misuse gives clear errors', async () => {
  const d = await testDevice();
  const p = Tensor.fromData(d, [1, 2, 3]).requireGrad();
  p.name = 'w';
  const frozen = Tensor.fromData(d, [1, 2]);
  const computed = ops.mul(p, 2);
  await assertThrows(() => new Adam([]), EngineError, 'empty');
  await assertThrows(() => new Adam([p, p]), EngineError, "'w'", 'more than once');
  await assertThrows(() => new Adam([computed]), EngineError, 'mul', 'leaf');
  await assertThrows(() => new Adam([frozen]), EngineError, 'does not require grad');
  await assertThrows(() => new Adam([p], { lr: -1 }), EngineError, 'learning rate');
  await assertThrows(() => new Adam([p], { betas: [0.9, 1] }), EngineError, 'beta');

  const opt = new Adam([p]);
  const stolen = new Adam([p]);
  await assertThrows(() => opt.step(), EngineError, "'w'", 'another optimizer');
  stolen.step();
  p.grad!.dispose();
  await assertThrows(() => stolen.step(), EngineError, "'w'", '.grad');
  stolen.dispose();
  await assertThrows(() => stolen.step(), DisposedError, 'disposed');
  [p, frozen, computed].forEach((t) => t.dispose());
  opt.dispose();
});

test('end to end: minimises sum((p − target)²) over 200 steps', async () => {
  const d = await testDevice();
  const target = Tensor.fromData(d, Float32Array.from(r.uniform(37)), [37]);
  const p = Tensor.fromData(d, new Float32Array(37), [37]).requireGrad();
  const opt = new Adam([p], { lr: 0.05 });
  const first = await tidy(() => ops.sum(ops.square(ops.sub(p, target)))).item();
  for (let s = 0; s < 200; s++) {
    tidy(() => {
      opt.zeroGrad();
      ops.sum(ops.square(ops.sub(p, target))).backward();
      opt.step();
    });
  }
  const last = tidy(() => ops.sum(ops.square(ops.sub(p, target))));
  const lossAfter = await last.item();
  assert.ok(lossAfter < 1e-4 * first, `loss ${first} → ${lossAfter}`);
  assertClose(await p.read(), await target.read(), 'p reaches the target', { atol: 2e-3 });
  [target, last].forEach((t) => t.dispose());
  disposeAll([p], opt);
});

test.run();
