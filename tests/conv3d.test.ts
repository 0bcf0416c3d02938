import { test } from 'uvu';
import { ShapeError, Tensor, noGrad, ops } from '../engine/node/index.ts';
import { assertThrows, gradcheck, rng, testDevice } from './helpers.ts';
import { conv3dRef, type Conv3dRefShape } from './ref/conv3d.ts';

const r = rng(47);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

interface Conv3dCase extends Conv3dRefShape {
  name: string;
  padding: [number, number, number];
}

const conv3dCases: Conv3dCase[] = [
  { name: 'ACFM conv1: 1×3×3, pad (0,1,1)', x: [2, 1, 5, 6, 7], w: [1, 1, 1, 3, 3], padding: [0, 1, 1] },
  { name: 'ACFM conv2: 3×1×1, pad (1,0,0)', x: [2, 1, 7, 3, 5], w: [1, 1, 3, 1, 1], padding: [1, 0, 0] },
  { name: '1×3×1 unpadded', x: [1, 1, 3, 6, 4], w: [1, 1, 1, 3, 1], padding: [0, 0, 0] },
  { name: '2×1×1 unpadded', x: [1, 1, 4, 2, 3], w: [1, 1, 2, 1, 1], padding: [0, 0, 0] },
];

for (const c of conv3dCases) {
  test(`conv3d ${c.name}: x ${JSON.stringify(c.x)}`, async () => {
    await gradcheck(
      'conv3d',
      [
        { data: r.uniform(size(c.x)), shape: [...c.x] },
        { data: r.uniform(size(c.w)), shape: [...c.w] },
        { data: r.uniform(1), shape: [1] },
      ],
      ([x, w, b]) => ops.conv3d(x, w, b, { padding: c.padding }),
      ([x, w, b]) => conv3dRef(c, x, w, b),
    );
  });
}

// 19,200 pixels for 9 or 3 weights: the weight gradient is split into > 64
// slices per weight, so its second pass is reduce.sumAxes.
test('conv3d: ACFM 1×3×3 then 3×1×1 chained, a volume big enough for the many-slice reduction', async () => {
  const x: [number, number, number, number, number] = [1, 1, 10, 40, 48];
  const s1: Conv3dRefShape = { x, w: [1, 1, 1, 3, 3], padding: [0, 1, 1] };
  const s2: Conv3dRefShape = { x, w: [1, 1, 3, 1, 1], padding: [1, 0, 0] };
  await gradcheck(
    'acfm',
    [
      { data: r.uniform(size(x)), shape: [...x] },
      { data: r.uniform(9), shape: [...s1.w] },
      { data: r.uniform(1), shape: [1] },
      { data: r.uniform(3), shape: [...s2.w] },
      { data: r.uniform(1), shape: [1] },
    ],
    ([v, w1, b1, w2, b2]) => ops.conv3d(ops.conv3d(v, w1, b1, { padding: [0, 1, 1] }), w2, b2, { padding: [1, 0, 0] }),
    ([v, w1, b1, w2, b2]) => conv3dRef(s2, conv3dRef(s1, v, w1, b1), w2, b2),
    { maxChecks: 100 },
  );
});

test('conv3d frees its temporaries (no-grad forward, and forward + backward)', async () => {
  const device = await testDevice();
  const x = Tensor.fromData(device, Float32Array.from(r.uniform(2 * 5 * 6 * 7)), [2, 1, 5, 6, 7]);
  const w = Tensor.fromData(device, Float32Array.from(r.uniform(9)), [1, 1, 1, 3, 3]);
  const b = Tensor.fromData(device, [0.5], [1]);
  const baseline = device.memory().liveBuffers;
  noGrad(() => ops.conv3d(x, w, b, { padding: [0, 1, 1] })).dispose();
  if (device.memory().liveBuffers !== baseline) throw new Error(`no-grad conv3d left ${device.memory().liveBuffers - baseline} buffers alive`);
  // A volume wide enough that the weight gradient uses split partials.
  const big = Tensor.fromData(device, Float32Array.from(r.uniform(4 * 30 * 40)), [1, 1, 4, 30, 40]).requireGrad();
  w.requireGrad();
  b.requireGrad();
  const y = ops.conv3d(big, w, b, { padding: [0, 1, 1] });
  y.backward(y);
  const expected = baseline + 1 /* big */ + 3 /* grads of big, w, b */ + 1; /* y (its graph keeps the views) */
  if (device.memory().liveBuffers !== expected) throw new Error(`conv3d backward left ${device.memory().liveBuffers - expected} extra buffers alive`);
  noGrad(() => [x, w, b, big, y, big.grad, w.grad, b.grad].forEach((t) => t?.dispose()));
});

test('conv3d: shape errors', async () => {
  const device = await testDevice();
  const t = (shape: number[]) => Tensor.fromData(device, new Float32Array(size(shape)), shape);
  const v = t([1, 1, 4, 5, 5]);
  await assertThrows(() => ops.conv3d(v, t([1, 1, 3, 3, 3]), null, { padding: [1, 1, 1] }), ShapeError, 'conv3d', 'only separable 1×k×k / k×1×1');
  await assertThrows(() => ops.conv3d(v, t([1, 1, 1, 3, 3]), null, { padding: [1, 1, 1] }), ShapeError, 'conv3d', 'only separable');
  await assertThrows(() => ops.conv3d(v, t([1, 1, 3, 3]), null), ShapeError, 'conv3d', 'weight [1,1,3,3]');
  await assertThrows(() => ops.conv3d(t([1, 2, 4, 5, 5]), t([1, 2, 1, 3, 3]), null), ShapeError, 'conv3d', 'one input and one output channel');
});

test.run();
