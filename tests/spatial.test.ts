import { test } from 'uvu';
import { ShapeError, Tensor, noGrad, ops } from '../engine/index.ts';
import { assertClose, assertThrows, gradcheck, rng, testDevice } from './helpers.ts';
import { bilinearRef, cropRef, maxPoolRef, padReplicateRef, pixelShuffleRef, pixelUnshuffleRef, type Shape4 } from './ref/spatial.ts';

const r = rng(23);
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

// ---- pixel shuffle ------------------------------------------------------------

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

// ---- bilinear -------------------------------------------------------------------

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

// ---- max-pool --------------------------------------------------------------------

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

// ---- replicate pad and crop ------------------------------------------------------

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

// ---- bad use -----------------------------------------------------------------------

test('spatial ops reject bad shapes with ShapeErrors naming the op and shapes', async () => {
  const device = await testDevice();
  const x = Tensor.fromData(device, new Float32Array(2 * 6 * 5 * 7), [2, 6, 5, 7]);
  const flat = Tensor.fromData(device, new Float32Array(6), [6]);
  await assertThrows(() => ops.pixelShuffle(x, 2), ShapeError, 'pixelShuffle', '[2,6,5,7]', '6 channels', 'r² = 4');
  await assertThrows(() => ops.pixelShuffle(x, 0), ShapeError, 'pixelShuffle', 'positive integer');
  await assertThrows(() => ops.pixelShuffle(flat, 1), ShapeError, 'pixelShuffle', 'NCHW', '[6]');
  await assertThrows(() => ops.pixelUnshuffle(x, 2), ShapeError, 'pixelUnshuffle', '[2,6,5,7]', '5×7');
  await assertThrows(() => ops.interpolateBilinear(x, [0, 4]), ShapeError, 'interpolateBilinear', '[0,4]', '[2,6,5,7]');
  await assertThrows(() => ops.interpolateBilinear(x, [3, 2.5]), ShapeError, 'interpolateBilinear', '[3,2.5]');
  await assertThrows(() => ops.maxPool2d(x, 6, 3), ShapeError, 'maxPool2d', 'kernel 6×6', '[2,6,5,7]');
  await assertThrows(() => ops.maxPool2d(x, 3, 0), ShapeError, 'maxPool2d', 'stride');
  await assertThrows(() => ops.padReplicate(x, [1, -1, 0, 0]), ShapeError, 'padReplicate', '[1,-1,0,0]', '[2,6,5,7]');
  await assertThrows(() => ops.crop(x, 1, 0, 5, 7), ShapeError, 'crop', 'top=1', '[2,6,5,7]');
  await assertThrows(() => ops.crop(x, 0, 0, 0, 7), ShapeError, 'crop', 'height=0');
  await assertThrows(() => ops.crop(x, 0, -1, 2, 2), ShapeError, 'crop', 'left=-1');
  x.dispose();
  flat.dispose();
});

test.run();
