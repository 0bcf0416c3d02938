import { test } from 'uvu';
import { ShapeError, Tensor, ops } from '../engine/node/index.ts';
import { assertClose, assertThrows, gradcheck, rng, testDevice } from './helpers.ts';
import { catRef, sliceRef } from './ref/cat.ts';

const r = rng(31);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const positive = (dim: number, rank: number) => (dim < 0 ? dim + rank : dim);

// ---- cat ----------------------------------------------------------------------------

const catCases: [string, number[][], number][] = [
  ['dim 0, batch', [[1, 3, 2, 5], [2, 3, 2, 5]], 0],
  ['dim 1, channels', [[2, 3, 3, 5], [2, 5, 3, 5], [2, 1, 3, 5]], 1],
  ['dim 1, RFDB 4×25', [[1, 25, 3, 2], [1, 25, 3, 2], [1, 25, 3, 2], [1, 25, 3, 2]], 1],
  ['dim 3, width', [[2, 3, 2, 3], [2, 3, 2, 1], [2, 3, 2, 4]], 3],
  ['dim -1', [[2, 3, 5], [2, 3, 2]], -1],
  ['dim -3', [[3, 2, 2, 3], [3, 4, 2, 3]], -3],
  ['rank 2, dim 0', [[3, 7], [1, 7]], 0],
  ['one tensor', [[2, 3, 1, 1]], 1],
  ['1-pixel images', [[1, 2, 1, 1], [1, 3, 1, 1]], 1],
];
for (const [name, shapes, dim] of catCases) {
  test(`cat ${name} ${JSON.stringify(shapes)}`, async () => {
    const inputs = shapes.map((shape) => ({ data: r.uniform(size(shape)), shape }));
    await gradcheck('cat', inputs, (xs) => ops.cat(xs, dim), (xs) => catRef(xs, shapes, positive(dim, shapes[0].length)));
  });
}

test('cat: inputs that do not require grad get no gradient, the others still do', async () => {
  const shapes = [[2, 3, 2, 3], [2, 4, 2, 3], [2, 1, 2, 3]];
  const inputs = shapes.map((shape, k) => ({ data: r.uniform(size(shape)), shape, grad: k !== 1 }));
  await gradcheck('cat', inputs, (xs) => ops.cat(xs), (xs) => catRef(xs, shapes, 1));
});

test('cat defaults to dim 1', async () => {
  const device = await testDevice();
  const a = Tensor.fromData(device, [1, 2, 3, 4], [1, 2, 2, 1]);
  const b = Tensor.fromData(device, [5, 6], [1, 1, 2, 1]);
  const c = ops.cat([a, b]);
  if (c.shape.join() !== '1,3,2,1') throw new Error(`shape ${c.shape}`);
  assertClose(await c.read(), [1, 2, 3, 4, 5, 6], 'cat', { atol: 0, rtol: 0 });
  [a, b, c].forEach((t) => t.dispose());
});

// ---- slice ----------------------------------------------------------------------------

const sliceCases: [number[], number, number, number][] = [
  [[3, 2, 3, 5], 0, 1, 3],
  [[2, 7, 3, 5], 1, 2, 6],
  [[2, 3, 4, 9], 3, 0, 4],
  [[2, 3, 4, 9], -1, 5, 9],
  [[2, 3, 5, 3], -2, 2, 3],
  [[2, 100, 1, 1], 1, 50, 100], // LMFN-like: second half of the channels
  [[5, 7], 1, 0, 7], // the whole axis
  [[1, 1, 1, 1], 2, 0, 1], // 1-pixel image
];
for (const [shape, dim, start, end] of sliceCases) {
  test(`slice ${JSON.stringify(shape)} dim ${dim} [${start}, ${end})`, async () => {
    await gradcheck('slice', [{ data: r.uniform(size(shape)), shape }], ([x]) => ops.slice(x, dim, start, end), ([x]) =>
      sliceRef(x, shape, positive(dim, shape.length), start, end),
    );
  });
}

test('slices of a cat give back the pieces, and their gradients add up', async () => {
  const shapes = [[2, 3, 2, 3], [2, 5, 2, 3]];
  const inputs = shapes.map((shape) => ({ data: r.uniform(size(shape)), shape }));
  // Both slices are `a`, so its gradient sums two paths; b gets zeros.
  await gradcheck(
    'slice∘cat',
    inputs,
    ([a, b]) => ops.add(ops.slice(ops.cat([a, b]), 1, 0, 3), ops.slice(ops.cat([b, a]), 1, 5, 8)),
    ([a]) => a.map((v) => 2 * v),
  );
});

// ---- bad use ----------------------------------------------------------------------------

test('cat and slice reject bad shapes with ShapeErrors naming the op and shapes', async () => {
  const device = await testDevice();
  const a = Tensor.fromData(device, new Float32Array(2 * 3 * 4 * 5), [2, 3, 4, 5]);
  const b = Tensor.fromData(device, new Float32Array(2 * 3 * 4 * 6), [2, 3, 4, 6]);
  const c = Tensor.fromData(device, new Float32Array(3 * 4 * 5), [3, 4, 5]);
  await assertThrows(() => ops.cat([a, b], 1), ShapeError, 'cat', '[2,3,4,5]', '[2,3,4,6]', 'dim 3');
  await assertThrows(() => ops.cat([a, c], 1), ShapeError, 'cat', '[2,3,4,5]', '[3,4,5]', 'ranks');
  await assertThrows(() => ops.cat([a, a], 4), ShapeError, 'cat', 'dim 4', '[2,3,4,5]');
  await assertThrows(() => ops.cat([a, a], -5), ShapeError, 'cat', 'dim -5');
  await assertThrows(() => ops.cat([]), ShapeError, 'cat');
  await assertThrows(() => ops.slice(a, 1, 2, 4), ShapeError, 'slice', '[2, 4)', 'extent 3', '[2,3,4,5]');
  await assertThrows(() => ops.slice(a, 1, 2, 1), ShapeError, 'slice', '[2, 1)');
  await assertThrows(() => ops.slice(a, -1, -1, 2), ShapeError, 'slice', '[-1, 2)');
  await assertThrows(() => ops.slice(a, 4, 0, 1), ShapeError, 'slice', 'dim 4');
  [a, b, c].forEach((t) => t.dispose());
});

test.run();
