// The GPU LMFN against the independent float64 reference in tests/ref/lmfn64.ts:
// parameter names and counts, initialisation, forward output and every
// parameter gradient.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Adam, ShapeError, Tensor, noGrad, ops, tidy } from '../engine/node/index.ts';
import { LMFN, modelSize } from '../model/lmfn.ts';
import { encoderChannelOfShuffle } from '../model/identity.ts';
import { autoTile } from '../model/deblur.ts';
import { kernelFamily, useKernelFamily } from '../kernels/family.ts';
import { lmfnGradientCase, lmfnParameterSpecs } from './ref/lmfn64.ts';
import { assertClose, assertThrows, maxAbs, rng, testDevice } from './helpers.ts';

test('176 tensors, 1,223,766 parameters, with the spec names and shapes', async () => {
  const device = await testDevice();
  const model = new LMFN(device);
  const named = model.namedParameters();
  assert.is(named.length, 176);
  assert.is(model.parameterCount(), 1_223_766);
  const spec = new Map(lmfnParameterSpecs().map((s) => [s.name, s.shape]));
  for (const [name, t] of named) assert.equal([...t.shape], spec.get(name), name);
  assert.is(spec.size, 176);
  model.dispose();
});

test('initialisation follows §9', async () => {
  const device = await testDevice();
  const model = new LMFN(device, { seed: 3 });
  const state = await model.stateDict();
  assert.equal([...state.get('decoder.alfm.theta')!.data], [0]);
  assert.equal([...state.get('decoder.acfm.alpha')!.data], [0]);
  const res = state.get('encoder.res2.3.conv1.weight')!.data;
  const std = Math.sqrt(res.reduce((s, v) => s + v * v, 0) / res.length);
  const expected = 0.1 * Math.sqrt(2 / (64 * 9));
  assert.ok(Math.abs(std / expected - 1) < 0.05, `ResBlock weight std ${std}, expected ${expected}`);
  assert.ok(state.get('encoder.res4.conv2.bias')!.data.every((v) => v === 0), 'ResBlock bias is 0');
  const head = state.get('decoder.head.weight')!.data;
  const bound = 1 / Math.sqrt(64 * 9);
  assert.ok(maxAbs(head) <= bound && maxAbs(head) > 0.9 * bound, 'default init is U(±1/√fan_in)');
  const other = new LMFN(device, { seed: 4 });
  assert.not.equal([...(await other.stateDict()).get('decoder.tail.weight')!.data.slice(0, 4)], [...state.get('decoder.tail.weight')!.data.slice(0, 4)]);
  model.dispose();
  other.dispose();
});

test('inputs that break the size rule get a clear error', async () => {
  const device = await testDevice();
  const model = new LMFN(device);
  const x = Tensor.empty(device, [1, 3, 48, 80]);
  await assertThrows(() => model.forward(x), ShapeError, '48×80', 'multiples of 16', 'at least 64');
  assert.equal(modelSize(37, 53), [64, 64]);
  assert.equal(modelSize(720, 1280), [720, 1280]);
  assert.equal(modelSize(100, 130), [112, 144]);
  x.dispose();
  model.dispose();
});

test('forward output and all 176 gradients match the float64 reference through both kernel families (1×3×64×64, θ = 0.3, α = 0.7)', async () => {
  const device = await testDevice();
  const { shape, weights, input, target, ref } = lmfnGradientCase();
  const before = kernelFamily(device);
  // 'direct' is what llvmpipe runs, 'tiled' what GPUs run (kernels/family.ts).
  for (const family of ['direct', 'tiled'] as const) {
    useKernelFamily(device, family);
    try {
      const model = new LMFN(device);
      const names = new Map(model.namedParameters().map(([n, t]) => [n, t.shape] as const));
      model.loadStateDict(new Map([...weights].map(([n, v]) => [n, { shape: names.get(n)!, data: Float32Array.from(v) }])));
      const x = Tensor.fromData(device, Float32Array.from(input), shape);
      const y = Tensor.fromData(device, Float32Array.from(target), shape);
      const out = model.forward(x);
      const loss = ops.mseLoss(out, y);
      loss.backward();
      assertClose(await out.read(), ref.output, `${family}: LMFN output`, { rtol: 1e-4, atol: 1e-4 * maxAbs(ref.output) });
      assertClose([await loss.item()], [ref.loss], `${family}: loss`, { rtol: 1e-4 });
      // Gradients sum float32 products over up to 64·64·4 positions and pass through a
      // near-one-hot softmax: compare each tensor relative to its own largest entry.
      for (const [name, t] of model.namedParameters()) {
        const expected = ref.grads.get(name)!;
        const got = await t.grad!.read();
        assertClose(got, expected, `${family}: grad ${name}`, { rtol: 2e-3, atol: 2e-3 * maxAbs(expected) + 1e-9 });
      }
      noGrad(() => [x, y, out, loss].forEach((t) => t.dispose()));
      model.dispose();
    } finally {
      useKernelFamily(device, before);
    }
  }
});

test('identity init: the output equals the input for random images of several sizes, the paper init elsewhere', async () => {
  const device = await testDevice();
  const shuffle = Array.from({ length: 48 }, (_, t) => encoderChannelOfShuffle(t));
  assert.equal([...shuffle].sort((a, b) => a - b), Array.from({ length: 48 }, (_, i) => i), 'a permutation of the 48 pixel channels');
  const model = new LMFN(device, { seed: 7, init: 'identity' });
  const r = rng(11);
  for (const shape of [[1, 3, 64, 64], [2, 3, 80, 112], [1, 3, 144, 64]] as const) {
    const n = (shape as readonly number[]).reduce((a, b) => a * b, 1);
    const input = Float32Array.from(r.uniform(n, 0, 1));
    const x = Tensor.fromData(device, input, shape);
    const out = noGrad(() => model.forward(x));
    // s = x − mean carried as s + 1 through the encoder: float32 rounding at 2, a few 1e-7.
    assertClose(await out.read(), input, `identity ${shape.join('×')}`, { rtol: 0, atol: 4e-7 });
    noGrad(() => [x, out].forEach((t) => t.dispose()));
  }
  // Only leading rows change: the paper's init (same seed) stays in the rest.
  const paper = new LMFN(device, { seed: 7 });
  const [a, b] = await Promise.all([model.stateDict(), paper.stateDict()]);
  assert.equal([...a.get('encoder.down1.weight')!.data.slice(12 * 576)], [...b.get('encoder.down1.weight')!.data.slice(12 * 576)]);
  assert.equal([...a.get('decoder.rfdb.2.c5.weight')!.data], [...b.get('decoder.rfdb.2.c5.weight')!.data]);
  assert.ok(a.get('encoder.down3.weight')!.data.every((v) => v === 0), 'down3 starts at zero');
  assert.throws(() => new LMFN(device, { init: 'kaiming' as 'paper' }), /init must be 'paper' or 'identity', got 'kaiming'/);
  model.dispose();
  paper.dispose();
});

test('identity init: every parameter gets a non-zero gradient within three Adam steps', async () => {
  const device = await testDevice();
  const model = new LMFN(device, { seed: 2, init: 'identity' });
  const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
  const r = rng(12);
  const moved = new Set<string>();
  for (let step = 0; step < 3; step++) {
    const x = Tensor.fromData(device, Float32Array.from(r.uniform(2 * 3 * 64 * 64, 0, 1)), [2, 3, 64, 64]);
    const y = Tensor.fromData(device, Float32Array.from(r.uniform(2 * 3 * 64 * 64, 0, 1)), [2, 3, 64, 64]);
    const loss = tidy(() => {
      optimizer.zeroGrad();
      const l = ops.mseLoss(model.forward(x), y);
      l.backward();
      return l;
    });
    const grads = await Promise.all(model.namedParameters().map(async ([n, t]) => [n, await t.grad!.read()] as const));
    for (const [n, g] of grads) if (g.some((v) => v !== 0)) moved.add(n);
    optimizer.step();
    noGrad(() => [x, y, loss].forEach((t) => t.dispose()));
  }
  const dead = model.namedParameters().map(([n]) => n).filter((n) => !moved.has(n));
  assert.equal(dead, [], 'parameters without gradient');
  optimizer.dispose();
  model.dispose();
});

test('autoTile: the whole image when its activations fit a binding, else the largest square tile that fits', () => {
  const binding = (bytes: number) => ({ limits: { maxStorageBufferBindingSize: bytes } as GPUSupportedLimits });
  const llvmpipe = binding(128 * 2 ** 20);
  assert.is(autoTile(llvmpipe, 256, 256), 0);
  assert.is(autoTile(llvmpipe, 720, 1280), 720); // 64 channels × 720² × 4 bytes = 126.6 MiB ≤ 128 MiB
  assert.ok(64 * 720 * 720 * 4 <= 128 * 2 ** 20 && 64 * 736 * 736 * 4 > 128 * 2 ** 20);
  assert.is(autoTile(binding(2 ** 32), 720, 1280), 0);
  assert.is(autoTile(binding(2 ** 32), 2160, 3840), 2048); // capped at 1 GiB per binding
  assert.is(autoTile(binding(2 ** 20), 720, 1280), 64);
});

test.run();
