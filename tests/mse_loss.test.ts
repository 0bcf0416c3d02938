import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError, Tensor, ops } from '../engine/node/index.ts';
import { assertClose, assertThrows, gradcheck, rng, testDevice } from './helpers.ts';
import { mseLossRef } from './ref/mse_loss.ts';

const r = rng(29);
const size = (s: number[]) => s.reduce((x, y) => x * y, 1);

// The gradients of a mean over n elements are ~1/n, far below the helpers'
// default absolute tolerance for large n; the float64 central difference is
// good to ~1e-10, so a tight absolute bound still leaves room for float32.
const gradient = { rtol: 1e-3, atol: 1e-9 };

// 1 element; a single workgroup; several split-reduction workgroups (24,522 elements).
for (const shape of [[1], [3, 5, 7], [2, 3, 61, 67]]) {
  test(`mseLoss ${JSON.stringify(shape)}: forward and gradients of both inputs`, async () => {
    const n = size(shape);
    await gradcheck(
      'mseLoss',
      [{ data: r.uniform(n), shape }, { data: r.uniform(n), shape }],
      ([a, b]) => ops.mseLoss(a, b),
      ([a, b]) => mseLossRef(a, b),
      { gradient, maxChecks: 60 },
    );
  });
}

test('mseLoss: target without grad gets none; backward with no seed', async () => {
  const d = await testDevice();
  const shape = [1, 1, 1, 1];
  const a = Float32Array.from(r.uniform(1));
  const b = Float32Array.from(r.uniform(1));
  const x = Tensor.fromData(d, a, shape).requireGrad();
  const y = Tensor.fromData(d, b, shape);
  const loss = ops.mseLoss(x, y);
  assert.equal(loss.shape, [1]);
  loss.backward();
  assertClose(await x.grad!.read(), [2 * (a[0] - b[0])], 'd input');
  assert.is(y.grad, null);
  [x, y, loss].forEach((t) => t.dispose());
});

test('mseLoss: a long input uses the most split workgroups', async () => {
  const d = await testDevice();
  // Above 1024 workgroups × 4096 elements, so each workgroup sums a longer chunk.
  const n = 4_300_001;
  const a = Float32Array.from(r.uniform(n));
  const b = Float32Array.from(r.uniform(n));
  const x = Tensor.fromData(d, a);
  const y = Tensor.fromData(d, b);
  const loss = ops.mseLoss(x, y);
  assertClose(await loss.read(), mseLossRef(Float64Array.from(a), Float64Array.from(b)), 'mseLoss forward', { rtol: 1e-5 });
  [x, y, loss].forEach((t) => t.dispose());
});

test('mseLoss: shapes must match', async () => {
  const d = await testDevice();
  const x = Tensor.fromData(d, new Float32Array(6), [2, 3]);
  const y = Tensor.fromData(d, new Float32Array(6), [3, 2]);
  await assertThrows(() => ops.mseLoss(x, y), ShapeError, 'mseLoss', '[2,3]', '[3,2]');
  x.dispose();
  y.dispose();
});

test.run();
