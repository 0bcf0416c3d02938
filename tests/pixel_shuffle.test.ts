import { test } from 'uvu';
import { ShapeError, Tensor, noGrad, ops } from '../engine/node/index.ts';
import { assertClose, assertThrows, gradcheck, rng, testDevice } from './helpers.ts';
import type { Shape4 } from './ref/nchw.ts';
import { pixelShuffleRef, pixelUnshuffleRef } from './ref/pixel_shuffle.ts';

const r = rng(23);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

const shuffleCases: [Shape4, number][] = [
  [[2, 12, 3, 5], 2],
  [[1, 48, 3, 5], 4], // LMFN's tail: 48 → 3 channels
  [[2, 18, 1, 3], 3],
  [[1, 4, 1, 1], 2], // 1-pixel input
  [[2, 3, 2, 3], 1],
];
for (const [shape, factor] of shuffleCases) {
  test(`pixelShuffle r=${factor} ${JSON.stringify(shape)}`, async () => {
    await gradcheck('pixelShuffle', [{ data: r.uniform(size(shape)), shape }], ([x]) => ops.pixelShuffle(x, factor), ([x]) => pixelShuffleRef(x, shape, factor));
  });
}

const unshuffleCases: [Shape4, number][] = [
  [[2, 3, 6, 10], 2],
  [[1, 3, 8, 12], 4],
  [[2, 5, 2, 2], 2], // 1-pixel output
];
for (const [shape, factor] of unshuffleCases) {
  test(`pixelUnshuffle r=${factor} ${JSON.stringify(shape)}`, async () => {
    await gradcheck('pixelUnshuffle', [{ data: r.uniform(size(shape)), shape }], ([x]) => ops.pixelUnshuffle(x, factor), ([x]) => pixelUnshuffleRef(x, shape, factor));
  });
}

test('pixelShuffle and pixelUnshuffle: bad shapes are ShapeErrors naming the op and the shapes', async () => {
  const device = await testDevice();
  const x = Tensor.fromData(device, new Float32Array(2 * 6 * 5 * 7), [2, 6, 5, 7]);
  const flat = Tensor.fromData(device, new Float32Array(6), [6]);
  await assertThrows(() => ops.pixelShuffle(x, 2), ShapeError, 'pixelShuffle', '[2,6,5,7]', '6 channels', 'r² = 4');
  await assertThrows(() => ops.pixelShuffle(x, 0), ShapeError, 'pixelShuffle', 'positive integer');
  await assertThrows(() => ops.pixelShuffle(flat, 1), ShapeError, 'pixelShuffle', 'NCHW', '[6]');
  await assertThrows(() => ops.pixelUnshuffle(x, 2), ShapeError, 'pixelUnshuffle', '[2,6,5,7]', '5×7');
  x.dispose();
  flat.dispose();
});

test.run();
