import { test } from 'uvu';
import { ShapeError, Tensor, noGrad, ops } from '../engine/node/index.ts';
import { assertClose, assertThrows, gradcheck, rng, testDevice } from './helpers.ts';
import type { Shape4 } from './ref/nchw.ts';
import { bilinearRef } from './ref/interpolate.ts';

const r = rng(29);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

test('upsample2x [2,3,5,7]', async () => {
  const shape: Shape4 = [2, 3, 5, 7];
  await gradcheck('upsample2x', [{ data: r.uniform(size(shape)), shape }], ([x]) => ops.upsample2x(x), ([x]) => bilinearRef(x, shape, [10, 14]));
});

const resizeCases: [Shape4, [number, number]][] = [
  [[2, 3, 9, 9], [31, 31]], // ESA: pooled map back to the feature size
  [[2, 5, 5, 7], [3, 11]], // down in H, up in W
  [[2, 3, 1, 1], [4, 4]], // 1-pixel input
  [[1, 3, 31, 31], [9, 9]], // down in both
  [[2, 3, 8, 6], [1, 1]], // 1-pixel output
  [[1, 2, 6, 5], [6, 5]], // identity size
  [[1, 2, 4, 6], [12, 18]], // ×3
];
for (const [shape, out] of resizeCases) {
  test(`interpolateBilinear ${JSON.stringify(shape)} → ${out[0]}×${out[1]}`, async () => {
    await gradcheck('interpolateBilinear', [{ data: r.uniform(size(shape)), shape }], ([x]) => ops.interpolateBilinear(x, out), ([x]) => bilinearRef(x, shape, out), {
      maxChecks: 400,
    });
  });
}

test('interpolateBilinear: bad shapes are ShapeErrors naming the op and the shapes', async () => {
  const device = await testDevice();
  const x = Tensor.fromData(device, new Float32Array(2 * 6 * 5 * 7), [2, 6, 5, 7]);
  await assertThrows(() => ops.interpolateBilinear(x, [0, 4]), ShapeError, 'interpolateBilinear', '[0,4]', '[2,6,5,7]');
  await assertThrows(() => ops.interpolateBilinear(x, [3, 2.5]), ShapeError, 'interpolateBilinear', '[3,2.5]');
  x.dispose();
});

test.run();
