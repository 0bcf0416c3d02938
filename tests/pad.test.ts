import { test } from 'uvu';
import { ShapeError, Tensor, noGrad, ops } from '../engine/node/index.ts';
import { assertClose, assertThrows, gradcheck, rng, testDevice } from './helpers.ts';
import type { Shape4 } from './ref/nchw.ts';
import { cropRef, padReplicateRef } from './ref/pad.ts';

const r = rng(41);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

const padCases: [Shape4, [number, number, number, number]][] = [
  [[2, 3, 5, 7], [1, 2, 3, 0]],
  [[1, 3, 6, 5], [0, 3, 0, 5]], // LMFN inference: bottom and right only
  [[1, 3, 1, 1], [2, 1, 0, 3]], // 1-pixel input: every border pixel copies it
  [[2, 2, 1, 4], [3, 0, 2, 2]], // 1-row input: top and bottom edges are the same row
  [[1, 2, 3, 3], [0, 0, 0, 0]],
];
for (const [shape, pad] of padCases) {
  test(`padReplicate ${JSON.stringify(pad)} ${JSON.stringify(shape)}`, async () => {
    await gradcheck('padReplicate', [{ data: r.uniform(size(shape)), shape }], ([x]) => ops.padReplicate(x, pad), ([x]) => padReplicateRef(x, shape, pad));
  });
}

const cropCases: [Shape4, [number, number, number, number]][] = [
  [[2, 3, 7, 9], [1, 3, 4, 5]],
  [[1, 3, 6, 5], [0, 0, 6, 5]], // whole image
  [[2, 2, 5, 7], [4, 6, 1, 1]], // the bottom-right pixel
  [[1, 5, 8, 3], [2, 0, 3, 3]],
];
for (const [shape, [top, left, h, w]] of cropCases) {
  test(`crop top=${top} left=${left} ${h}×${w} of ${JSON.stringify(shape)}`, async () => {
    await gradcheck('crop', [{ data: r.uniform(size(shape)), shape }], ([x]) => ops.crop(x, top, left, h, w), ([x]) => cropRef(x, shape, top, left, h, w));
  });
}

test('crop undoes padReplicate on the bottom/right (LMFN inference path)', async () => {
  const device = await testDevice();
  const shape: Shape4 = [1, 3, 5, 7];
  const data = Float32Array.from(r.uniform(size(shape)));
  const x = Tensor.fromData(device, data, shape);
  const padded = ops.padReplicate(x, [0, 9, 0, 11]);
  const back = ops.crop(padded, 0, 0, 5, 7);
  assertClose(await back.read(), data, 'round trip', { atol: 0, rtol: 0 });
  [x, padded, back].forEach((t) => t.dispose());
});

test('padReplicate and crop: bad shapes are ShapeErrors naming the op and the shapes', async () => {
  const device = await testDevice();
  const x = Tensor.fromData(device, new Float32Array(2 * 6 * 5 * 7), [2, 6, 5, 7]);
  await assertThrows(() => ops.padReplicate(x, [1, -1, 0, 0]), ShapeError, 'padReplicate', '[1,-1,0,0]', '[2,6,5,7]');
  await assertThrows(() => ops.crop(x, 1, 0, 5, 7), ShapeError, 'crop', 'top=1', '[2,6,5,7]');
  await assertThrows(() => ops.crop(x, 0, 0, 0, 7), ShapeError, 'crop', 'height=0');
  await assertThrows(() => ops.crop(x, 0, -1, 2, 2), ShapeError, 'crop', 'left=-1');
  x.dispose();
});

test.run();
