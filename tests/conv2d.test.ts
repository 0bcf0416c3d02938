import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError, Tensor, noGrad, ops } from '../engine/node/index.ts';
import { blockFor, groupsFor, weightGradSplits, type ConvGeometry } from '../kernels/conv2d.ts';
import { convVec4Applies, weightGradBlock, weightGradSlices } from '../kernels/conv2d_vec4.ts';
import { asF32, assertClose, assertThrows, gradcheck, rng, testDevice } from './helpers.ts';
import { conv2dOutShape, conv2dRef, type Conv2dRefShape } from './ref/conv2d.ts';

const r = rng(23);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

interface Conv2dCase extends Conv2dRefShape {
  name: string;
  bias?: boolean;
  maxChecks?: number;
}

const conv2dCases: Conv2dCase[] = [
  { name: '3×3 s1 p1, N=2, 5→7', x: [2, 5, 9, 13], w: [7, 5, 3, 3], padding: [1, 1] },
  { name: '3×3 s2 p1, odd H/W', x: [1, 3, 9, 13], w: [5, 3, 3, 3], stride: [2, 2], padding: [1, 1] },
  { name: '3×3 s2 p0 (ESA), odd sizes, N=2', x: [2, 7, 11, 9], w: [3, 7, 3, 3], stride: [2, 2] },
  { name: '1×1, 13→5', x: [2, 13, 5, 7], w: [5, 13, 1, 1] },
  { name: '3×1 kernel, padding [1,0]', x: [1, 3, 6, 5], w: [7, 3, 3, 1], padding: [1, 0] },
  { name: '5×5 p2, N=2', x: [2, 3, 7, 9], w: [5, 3, 5, 5], padding: [2, 2], maxChecks: 200 },
  { name: 'no bias, 3×3 p1', x: [1, 5, 6, 6], w: [13, 5, 3, 3], padding: [1, 1], bias: false },
  { name: '1×1-pixel input, 3×3 p1', x: [2, 3, 1, 1], w: [5, 3, 3, 3], padding: [1, 1] },
  { name: '1×1-pixel input, 1×1', x: [1, 7, 1, 1], w: [3, 7, 1, 1] },
  { name: 'one output channel (ACFM-like)', x: [3, 1, 5, 8], w: [1, 1, 3, 3], padding: [1, 1] },
  { name: 'mixed stride [2,1], padding [0,2], 9 out channels', x: [1, 2, 8, 6], w: [9, 2, 3, 5], stride: [2, 1], padding: [0, 2] },
  { name: '17→11, several channel blocks each way', x: [1, 17, 5, 6], w: [11, 17, 3, 3], padding: [1, 1], maxChecks: 200 },
  // Wide enough to split the weight-gradient reduction into a few slices (the one-thread-per-weight second pass).
  { name: 'split weight-gradient reduction', x: [2, 2, 24, 40], w: [3, 2, 3, 3], padding: [1, 1], maxChecks: 60 },
  // conv2d_vec4.wgsl 3×3 (padding 1, widths multiples of 4): partial channel blocks, a partial
  // 8-pixel block, heights not a multiple of the 4-row block, sliced weight gradients, one-row maps.
  { name: '3×3 fast path s1, 11 out channels, W 12, odd H', x: [2, 5, 7, 12], w: [11, 5, 3, 3], padding: [1, 1], maxChecks: 300 },
  { name: '3×3 fast path s2, odd H', x: [2, 3, 9, 16], w: [10, 3, 3, 3], stride: [2, 2], padding: [1, 1], maxChecks: 300 },
  { name: '3×3 fast path s2, W 8 → 4, 9 in channels', x: [3, 9, 6, 8], w: [8, 9, 3, 3], stride: [2, 2], padding: [1, 1], maxChecks: 300 },
  { name: '3×3 fast path s2, W 24 → 12', x: [1, 2, 5, 24], w: [3, 2, 3, 3], stride: [2, 2], padding: [1, 1], maxChecks: 300 },
  { name: '3×3 fast path s2, 9 output rows (a full 8-row block and one more)', x: [1, 2, 18, 8], w: [3, 2, 3, 3], stride: [2, 2], padding: [1, 1], maxChecks: 300 },
  { name: '3×3 fast path, one-row map, one output channel', x: [1, 9, 1, 4], w: [1, 9, 3, 3], padding: [1, 1] },
  { name: '3×3 fast path, no bias', x: [2, 4, 6, 8], w: [9, 4, 3, 3], padding: [1, 1], bias: false, maxChecks: 300 },
  { name: '3×3 fast path, 17→19 channels at 16×16', x: [2, 17, 16, 16], w: [19, 17, 3, 3], padding: [1, 1], maxChecks: 120 },
  // LMFN's 1/4 scale of 720×1280: the weight gradient's longest reduction (180 rows of 320).
  { name: '3×3 fast path at 180×320', x: [1, 1, 180, 320], w: [2, 1, 3, 3], padding: [1, 1], maxChecks: 16 },
  // conv2d_vec4.wgsl 1×1 (H·W a multiple of 4): an odd number of pixel groups, partial
  // channel blocks on both sides, several pixel blocks, a sliced weight gradient.
  { name: '1×1 fast path, 13→5, 5 pixel groups', x: [2, 13, 5, 4], w: [5, 13, 1, 1] },
  { name: '1×1 fast path, 20→17, two pixel blocks', x: [2, 20, 4, 12], w: [17, 20, 1, 1], maxChecks: 300 },
  { name: '1×1 fast path, sliced weight gradient, no bias', x: [2, 3, 8, 8], w: [3, 3, 1, 1], bias: false },
];

for (const c of conv2dCases) {
  test(`conv2d ${c.name}: x ${JSON.stringify(c.x)} w ${JSON.stringify(c.w)}`, async () => {
    const withBias = c.bias !== false;
    const inputs = [
      { data: r.uniform(size(c.x)), shape: [...c.x] },
      { data: r.uniform(size(c.w)), shape: [...c.w] },
      ...(withBias ? [{ data: r.uniform(c.w[0]), shape: [c.w[0]] }] : []),
    ];
    await gradcheck(
      'conv2d',
      inputs,
      ([x, w, b]) => ops.conv2d(x, w, b ?? null, { stride: c.stride, padding: c.padding }),
      ([x, w, b]) => conv2dRef(c, x, w, b ?? null),
      { maxChecks: c.maxChecks ?? 400 },
    );
  });
}

// Fused activations: forward and gradients against act(float64 conv), on each kernel path
// (conv_vec4 3×3 s1 and s2, conv_vec4 1×1, conv2d.wgsl's general kernel). A negative slope runs unfused.
const activations = [
  { activation: 'relu', ref: (v: number) => Math.max(v, 0) },
  { activation: 'leakyRelu', negativeSlope: 0.1, ref: (v: number) => (v > 0 ? v : 0.1 * v) },
  { activation: 'sigmoid', ref: (v: number) => 1 / (1 + Math.exp(-v)) },
  { activation: 'leakyRelu', negativeSlope: -0.2, ref: (v: number) => (v > 0 ? v : -0.2 * v) },
] as const;
const activationCases: Conv2dCase[] = [
  { name: '3×3 s1 fast path', x: [2, 5, 7, 12], w: [11, 5, 3, 3], padding: [1, 1] },
  { name: '3×3 s2 fast path', x: [1, 3, 9, 16], w: [10, 3, 3, 3], stride: [2, 2], padding: [1, 1] },
  { name: '1×1 fast path', x: [2, 13, 5, 4], w: [5, 13, 1, 1] },
  { name: 'general kernel 5×5, no bias', x: [1, 3, 7, 9], w: [5, 3, 5, 5], padding: [2, 2], bias: false },
];
/**
 * Random inputs whose pre-activations all keep 1e-3 away from 0: at a kink a
 * float32 rounding or a finite-difference step can change which side a value
 * falls on, and the gradient check would fail on the data, not the kernel.
 */
function kinkFreeInputs(c: Conv2dCase, withResidual = false) {
  const out = conv2dOutShape(c);
  for (;;) {
    const inputs = [
      { data: asF32(r.uniform(size(c.x))), shape: [...c.x] },
      { data: asF32(r.uniform(size(c.w))), shape: [...c.w] },
      { data: c.bias !== false ? asF32(r.uniform(c.w[0])) : null, shape: [c.w[0]] },
      { data: withResidual ? asF32(r.uniform(size(out))) : null, shape: out },
    ];
    const z = convPlusResidual(c, inputs[0].data!, inputs[1].data!, inputs[2].data, inputs[3].data);
    if (z.every((v) => Math.abs(v) >= 1e-3)) return inputs.filter((i) => i.data !== null) as { data: Float64Array; shape: number[] }[];
  }
}

const convPlusResidual = (c: Conv2dCase, x: Float64Array, w: Float64Array, b: Float64Array | null, res: Float64Array | null) =>
  conv2dRef(c, x, w, b).map((v, i) => v + (res ? res[i] : 0));

for (const c of activationCases) {
  for (const { ref, ...act } of activations) {
    test(`conv2d ${c.name} with fused ${JSON.stringify(act)}`, async () => {
      await gradcheck(
        'conv2d+activation',
        kinkFreeInputs(c),
        ([x, w, b]) => ops.conv2d(x, w, b ?? null, { stride: c.stride, padding: c.padding, ...act }),
        ([x, w, b]) => conv2dRef(c, x, w, b ?? null).map(ref),
        { maxChecks: 200 },
      );
    });
  }
}

// A fused residual add, with and without an activation after it, on each kernel path.
for (const c of activationCases) {
  for (const act of [{}, { activation: 'leakyRelu', negativeSlope: 0.1 }, { activation: 'leakyRelu', negativeSlope: -0.2 }] as const) {
    test(`conv2d ${c.name} with a fused residual and ${JSON.stringify(act)}`, async () => {
      const slope = 'negativeSlope' in act ? act.negativeSlope : undefined;
      const hasBias = c.bias !== false;
      await gradcheck(
        'conv2d+residual',
        kinkFreeInputs(c, true),
        (t) => ops.conv2d(t[0], t[1], hasBias ? t[2] : null, { stride: c.stride, padding: c.padding, ...act, residual: t[hasBias ? 3 : 2] }),
        (t) => convPlusResidual(c, t[0], t[1], hasBias ? t[2] : null, t[hasBias ? 3 : 2]).map((v) => (slope === undefined || v > 0 ? v : slope * v)),
        { maxChecks: 150 },
      );
    });
  }
}

test('conv2d residual: a residual of another shape is a shape error naming both', async () => {
  const device = await testDevice();
  const x = Tensor.fromData(device, new Float32Array(2 * 16), [1, 2, 4, 4]);
  const w = Tensor.fromData(device, new Float32Array(3 * 2 * 9), [3, 2, 3, 3]);
  const res = Tensor.fromData(device, new Float32Array(2 * 16), [1, 2, 4, 4]);
  await assertThrows(() => ops.conv2d(x, w, null, { padding: 1, residual: res }), ShapeError, 'residual [1,2,4,4]', "output's shape [1,3,4,4]");
  [x, w, res].forEach((t) => t.dispose());
});

test('conv2d activation options: unknown names and a slope without leakyRelu are errors', async () => {
  const device = await testDevice();
  const x = Tensor.fromData(device, new Float32Array(16), [1, 1, 4, 4]);
  const w = Tensor.fromData(device, new Float32Array(9), [1, 1, 3, 3]);
  await assertThrows(() => ops.conv2d(x, w, null, { activation: 'tanh' as 'relu' }), ShapeError, `activation must be 'relu', 'leakyRelu' or 'sigmoid', got "tanh"`);
  await assertThrows(() => ops.conv2d(x, w, null, { activation: 'relu', negativeSlope: 0.1 }), ShapeError, `negativeSlope is an option of activation 'leakyRelu', not of 'relu'`);
  await assertThrows(() => ops.conv2d(x, w, null, { activation: 'leakyRelu', negativeSlope: NaN }), ShapeError, 'negativeSlope must be a finite number');
  [x, w].forEach((t) => t.dispose());
});

test('conv2d: scalar stride and padding mean the same on both axes', async () => {
  const device = await testDevice();
  const shape: Conv2dRefShape = { x: [1, 2, 7, 8], w: [3, 2, 3, 3], stride: [2, 2], padding: [1, 1] };
  const xd = r.uniform(size(shape.x));
  const wd = r.uniform(size(shape.w));
  const x = Tensor.fromData(device, Float32Array.from(xd), shape.x);
  const w = Tensor.fromData(device, Float32Array.from(wd), shape.w);
  const y = ops.conv2d(x, w, null, { stride: 2, padding: 1 });
  assertClose(await y.read(), conv2dRef(shape, Float64Array.from(Float32Array.from(xd)), Float64Array.from(Float32Array.from(wd)), null), 'conv2d');
  [x, w, y].forEach((t) => t.dispose());
});

test('weight-gradient split: slices cover every pixel once and the big single-channel case is split wide', () => {
  for (const [pixels, blocks] of [[1, 1], [255, 3], [2_880_000, 3], [57_600, 1469], [100_000, 20000]]) {
    const { splits, chunk } = weightGradSplits(pixels, blocks);
    if (splits < 1 || splits * chunk < pixels || (splits - 1) * chunk >= pixels) {
      throw new Error(`bad split of ${pixels} pixels: ${splits} × ${chunk}`);
    }
  }
  // ACFM at 720p: 9 weights (3 column blocks) summed over 2.88M pixels.
  const acfm = weightGradSplits(50 * 180 * 320, 3);
  if (acfm.splits * 3 < 4096) throw new Error(`ACFM weight gradient runs on only ${acfm.splits * 3} invocations`);
  if (weightGradSplits(40 * 48 * 10, 3).splits <= 64) throw new Error('the chained conv3d test below no longer reaches the sumAxes second pass');
});

test('block choices: channel blocks evened out, pixel groups only where they do not waste much', () => {
  const blocks: [number, number][] = [[1, 1], [3, 3], [8, 8], [9, 5], [25, 7], [50, 8], [64, 8]];
  for (const [channels, block] of blocks) if (blockFor(channels) !== block) throw new Error(`blockFor(${channels}) = ${blockFor(channels)}, expected ${block}`);
  const groups: [number, number][] = [[1, 1], [3, 1], [7, 2], [9, 1], [13, 2], [128, 2]];
  for (const [extent, g] of groups) if (groupsFor(extent) !== g) throw new Error(`groupsFor(${extent}) = ${groupsFor(extent)}, expected ${g}`);
});

test('conv_vec4 choices: which convs take it, slices cover the reduction, workgroups fill two cores', () => {
  const g = (k: number, s: number, p: number, inW: number, outW: number, inH = 16, outH = 16): ConvGeometry => ({
    batch: 4, inChannels: 64, inH, inW, outChannels: 64, outH, outW, kernelH: k, kernelW: k, strideH: s, strideW: s, padH: p, padW: p,
  });
  const routed: [ConvGeometry, boolean][] = [
    [g(3, 1, 1, 16, 16), true],
    [g(3, 2, 1, 16, 8), true],
    [g(3, 2, 1, 12, 6), false], // output rows not a multiple of 4
    [g(3, 1, 1, 13, 13), false],
    [g(3, 2, 0, 16, 7), false], // ESA's unpadded stride-2 conv
    [g(5, 1, 2, 16, 16), false],
    [g(1, 1, 0, 5, 5, 4, 4), true], // 20 pixels
    [g(1, 1, 0, 7, 7, 7, 7), false],
  ];
  for (const [geometry, expected] of routed) {
    if (convVec4Applies(geometry) !== expected) throw new Error(`convVec4Applies(${JSON.stringify(geometry)}) should be ${expected}`);
  }
  for (const [steps, blocks, target] of [[1, 1, 128], [64, 64, 128], [64, 2, 128], [3200, 1, 128], [128, 14, 16384], [7, 3, 16384]]) {
    const { splits, stepsPerSplit } = weightGradSlices(steps, blocks, target);
    if (splits < 1 || splits * stepsPerSplit < steps || (splits - 1) * stepsPerSplit >= steps) {
      throw new Error(`bad slices of ${steps} steps: ${splits} × ${stepsPerSplit}`);
    }
  }
  assert.equal(weightGradBlock(g(3, 1, 1, 16, 16)), { quads: 4, channels: 2 });
  assert.equal(weightGradBlock({ ...g(1, 1, 0, 16, 16), outChannels: 25 }), { quads: 4, channels: 8 });
});

test('conv2d: shape errors', async () => {
  const device = await testDevice();
  const t = (shape: number[]) => Tensor.fromData(device, new Float32Array(size(shape)), shape);
  const x = t([1, 3, 5, 5]);
  await assertThrows(() => ops.conv2d(x, t([8, 4, 3, 3]), null), ShapeError, 'conv2d', '[1,3,5,5]', '[8,4,3,3]', '3 channels', 'expects 4');
  await assertThrows(() => ops.conv2d(x, t([8, 3, 7, 7]), null, { padding: 0 }), ShapeError, 'conv2d', 'larger', '[8,3,7,7]', '[1,3,5,5]');
  await assertThrows(() => ops.conv2d(x, t([8, 3, 9]), null), ShapeError, 'conv2d', 'weight [8,3,9]');
  await assertThrows(() => ops.conv2d(t([3, 5, 5]), t([8, 3, 3, 3]), null), ShapeError, 'conv2d', 'input [3,5,5]');
  await assertThrows(() => ops.conv2d(x, t([8, 3, 3, 3]), t([7])), ShapeError, 'conv2d', 'bias [7]');
  await assertThrows(() => ops.conv2d(x, t([8, 3, 3, 3]), null, { stride: 0 }), ShapeError, 'conv2d', 'stride');
  await assertThrows(() => ops.conv2d(x, t([8, 3, 3, 3]), null, { padding: -1 }), ShapeError, 'conv2d', 'padding');
  noGrad(() => ops.conv2d(x, t([2, 3, 5, 5]), null).dispose());
});

test.run();
