import { test } from 'uvu';
import { ShapeError, Tensor, ops } from '../engine/node/index.ts';
import { assertClose, assertThrows, gradcheck, rng, testDevice } from './helpers.ts';
import { softmaxRef } from './ref/softmax.ts';

const r = rng(43);
const size = (s: number[]) => s.reduce((x, y) => x * y, 1);

for (const scale of [1, -1]) {
  for (const shape of [[3, 1], [1, 1], [4, 7], [2, 3, 200], [70, 5]]) {
    test(`softmax scale=${scale} ${JSON.stringify(shape)}`, async () => {
      const cols = shape[shape.length - 1];
      await gradcheck(
        'softmax',
        [{ data: r.uniform(size(shape), -2, 2), shape }],
        ([x]) => ops.softmax(x, { scale, dim: shape.length - 1 }),
        ([x]) => softmaxRef(x, cols, scale),
        { maxChecks: 200 },
      );
    });
  }
}

test('softmax of large-magnitude rows is stable (no overflow, no NaN)', async () => {
  for (const scale of [1, -1]) {
    const shape = [5, 200];
    await gradcheck(
      'softmax large',
      [{ data: r.uniform(size(shape), -3e4, 3e4), shape }],
      ([x]) => ops.softmax(x, { scale }),
      ([x]) => softmaxRef(x, 200, scale),
      { maxChecks: 100 },
    );
    // Nearly equal large values: the answer depends only on the differences.
    const device = await testDevice();
    const x = Tensor.fromData(device, [1e4, 1e4 + 1, 1e4 + 2, -1e4], [1, 4]);
    const y = ops.softmax(x, { scale });
    assertClose(await y.read(), softmaxRef(Float64Array.from([1e4, 1e4 + 1, 1e4 + 2, -1e4]), 4, scale), 'softmax near-equal large');
    x.dispose();
    y.dispose();
  }
});

test('softmax shape errors', async () => {
  const device = await testDevice();
  const t = (...shape: number[]) => Tensor.empty(device, shape);
  await assertThrows(() => ops.softmax(t(2, 3), { dim: 0 }), ShapeError, 'softmax', 'dim 0', '[2,3]');
  await assertThrows(() => ops.softmax(t(2, 3, 4), { dim: 1 }), ShapeError, 'softmax', 'dim 1');
});

test.run();
