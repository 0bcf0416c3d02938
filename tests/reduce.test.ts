import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError, Tensor, ops } from '../engine/node/index.ts';
import { assertThrows, gradcheck, rng, testDevice } from './helpers.ts';
import { sumRef } from './ref/reduce.ts';

const r = rng(53);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

// Awkward extents, leading/trailing/interleaved axes, and sums long enough to split across workgroups.
const cases: [number[], number[] | undefined][] = [
  [[2, 3, 5, 7], undefined],
  [[2, 3, 5, 7], [0, 2, 3]],
  [[2, 3, 5, 7], [1]],
  [[2, 3, 5, 7], [0, 2]],
  [[4, 1, 9], [2]],
  [[1], [0]],
  [[70001], undefined],
  [[3, 20000], [1]],
  [[20000, 3], [0]],
];

for (const op of ['sum', 'mean'] as const) {
  for (const [shape, axes] of cases) {
    for (const keepDims of [false, true]) {
      test(`${op} over ${axes ? JSON.stringify(axes) : 'all'} of ${JSON.stringify(shape)}${keepDims ? ', keepDims' : ''}`, async () => {
        const all = axes ?? shape.map((_, i) => i);
        await gradcheck(
          op,
          [{ data: r.uniform(size(shape)), shape }],
          ([x]) => ops[op](x, axes, keepDims),
          ([x]) => sumRef(x, shape, all, op === 'mean'),
          { maxChecks: 200 },
        );
      });
    }
  }
}

test('sum and mean: output shapes, negative axes, and bad axes', async () => {
  const device = await testDevice();
  const x = Tensor.empty(device, [2, 3, 4]);
  const shapes = [ops.sum(x), ops.sum(x, -1), ops.mean(x, [0, 2], true), ops.sum(x, 1, true)].map((t) => {
    t.dispose();
    return [...t.shape];
  });
  assert.equal(shapes, [[1], [2, 3], [1, 3, 1], [2, 1, 4]]);
  await assertThrows(() => ops.sum(x, 3), ShapeError, 'sum', 'axis 3', '[2,3,4]');
  await assertThrows(() => ops.mean(x, -4), ShapeError, 'mean', 'axis -4');
  x.dispose();
});

test.run();
