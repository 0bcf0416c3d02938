import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError, Tensor, noGrad, ops } from '../engine/node/index.ts';
import { assertClose, assertThrows, gradcheck, rng, testDevice } from './helpers.ts';
import type { Shape4 } from './ref/nchw.ts';
import { maxPoolRef } from './ref/max_pool2d.ts';

const r = rng(37);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** n values spread evenly over [-1, 1] in random order: no two equal, so every max-pool argmax is unambiguous. */
function distinct(n: number): Float64Array {
  const v = Float64Array.from({ length: n }, (_, i) => ((i + 0.5) / n) * 2 - 1);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r.next() * (i + 1));
    [v[i], v[j]] = [v[j], v[i]];
  }
  return v;
}

const poolCases: [Shape4, number, number][] = [
  [[2, 3, 31, 31], 7, 3], // ESA's pool
  [[2, 3, 15, 15], 7, 3], // the smallest map ESA sees at the minimum image size
  [[1, 5, 7, 7], 7, 3], // a single window
  [[2, 3, 8, 9], 3, 2],
  [[1, 3, 5, 7], 2, 2],
  [[1, 2, 3, 4], 1, 1],
];
for (const [shape, k, s] of poolCases) {
  test(`maxPool2d k=${k} s=${s} ${JSON.stringify(shape)}`, async () => {
    await gradcheck('maxPool2d', [{ data: distinct(size(shape)), shape }], ([x]) => ops.maxPool2d(x, k, s), ([x]) => maxPoolRef(x, shape, k, s), { maxChecks: 600 });
  });
}

test('maxPool2d: ties go to the first maximum in row-major window order, forward and backward', async () => {
  const device = await testDevice();
  // A constant plane, plus one 5×5 window whose maximum 2 appears twice (first at (1,2)).
  const data = new Float32Array(25);
  data[1 * 5 + 2] = 2;
  data[3 * 5 + 0] = 2;
  const x = Tensor.fromData(device, data, [1, 1, 5, 5]).requireGrad();
  const y = ops.maxPool2d(x, 3, 2); // windows at (0,0), (0,2), (2,0), (2,2)
  assertClose(await y.read(), [2, 2, 2, 0], 'forward');
  const g = Tensor.fromData(device, [1, 10, 100, 1000], [1, 1, 2, 2]);
  y.backward(g);
  const expected = new Float64Array(25);
  expected[1 * 5 + 2] = 1 + 10; // first max of windows (0,0) and (0,2)
  expected[3 * 5 + 0] = 100; // window (2,0): its only 2
  expected[2 * 5 + 2] = 1000; // window (2,2): all zeros, so its first pixel
  assertClose(await x.grad!.read(), expected, 'gradient');
  noGrad(() => [x, y, g, x.grad!].forEach((t) => t.dispose()));
});

test('maxPool2d under noGrad: forward only, nothing recorded', async () => {
  const device = await testDevice();
  const shape: Shape4 = [2, 3, 15, 15];
  const data = distinct(size(shape));
  const x = Tensor.fromData(device, data, shape).requireGrad();
  const y = noGrad(() => ops.maxPool2d(x, 7, 3));
  if (y.gradFn) throw new Error('recorded under noGrad');
  assertClose(await y.read(), maxPoolRef(Float64Array.from(Float32Array.from(data)), shape, 7, 3), 'forward');
  x.dispose();
  y.dispose();
});

test('maxPool2d: its saved argmax goes with its output, recorded or not (no leak outside tidy)', async () => {
  const device = await testDevice();
  const shape: Shape4 = [1, 2, 9, 9];
  const x = Tensor.fromData(device, distinct(size(shape)), shape).requireGrad();
  const g = Tensor.fromData(device, new Float32Array(2 * 3 * 3).fill(1), [1, 2, 3, 3]);
  const baseline = device.memory().liveBuffers;
  const y = ops.maxPool2d(x, 3, 3);
  assert.is(device.memory().liveBuffers, baseline + 2, 'the output and its argmax');
  y.backward(g);
  y.dispose();
  x.grad!.dispose();
  assert.is(device.memory().liveBuffers, baseline, 'after backward and dispose');
  noGrad(() => ops.maxPool2d(x, 3, 3)).dispose();
  assert.is(device.memory().liveBuffers, baseline, 'under noGrad');
  x.dispose();
  g.dispose();
});

test('maxPool2d: bad shapes are ShapeErrors naming the op and the shapes', async () => {
  const device = await testDevice();
  const x = Tensor.fromData(device, new Float32Array(2 * 6 * 5 * 7), [2, 6, 5, 7]);
  await assertThrows(() => ops.maxPool2d(x, 6, 3), ShapeError, 'maxPool2d', 'kernel 6×6', '[2,6,5,7]');
  await assertThrows(() => ops.maxPool2d(x, 3, 0), ShapeError, 'maxPool2d', 'stride');
  x.dispose();
});

test.run();
