import { test } from 'uvu';
import { Tensor, ops } from '../engine/node/index.ts';
import { gradcheck, rng, testDevice } from './helpers.ts';
import * as K from '../kernels/elementwise.ts';
import { blockBroadcast } from '../kernels/elementwise.ts';
import * as assert from 'uvu/assert';
import { broadcastRef } from './ref/elementwise.ts';

const r = rng(11);

const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
const binaryCases: [string, number[], number[]][] = [
  ['same shape, odd sizes', [2, 3, 5, 7], [2, 3, 5, 7]],
  ['per channel', [2, 5, 3, 3], [1, 5, 1, 1]],
  ['learnable scalar', [3, 7, 1, 9], [1]],
  ['both broadcast', [4, 1, 3], [1, 5, 1]],
  ['lower rank', [2, 3, 4], [4]],
  ['scalar first', [1], [3, 4, 5]],
  ['first operand per row', [3, 1], [3, 6]],
  ['interleaved broadcast axes (no single block)', [5, 1, 4], [5, 3, 4]],
  ['1-pixel image', [1, 1, 1, 1], [1, 1, 1, 1]],
];
const binaryOps: [string, (a: Tensor, b: Tensor) => Tensor, (a: number, b: number) => number][] = [
  ['add', ops.add, (a, b) => a + b],
  ['sub', ops.sub, (a, b) => a - b],
  ['mul', ops.mul, (a, b) => a * b],
  ['div', ops.div, (a, b) => a / b],
];

for (const [opName, fn, ref] of binaryOps) {
  for (const [caseName, sa, sb] of binaryCases) {
    test(`${opName}: ${caseName} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`, async () => {
      // Divisors kept away from 0 so finite differences stay well conditioned.
      const b = opName === 'div' ? r.uniform(size(sb), 0.5, 2) : r.uniform(size(sb));
      await gradcheck(opName, [{ data: r.uniform(size(sa)), shape: sa }, { data: b, shape: sb }], ([x, y]) => fn(x, y), broadcastRef(ref, sa, sb));
    });
  }
}

const unaryOps: [string, (x: Tensor) => Tensor, (x: number) => number][] = [
  ['relu', ops.relu, (x) => Math.max(x, 0)],
  ['leakyRelu 0.1', (x) => ops.leakyRelu(x, 0.1), (x) => (x > 0 ? x : 0.1 * x)],
  ['leakyRelu 0.05', (x) => ops.leakyRelu(x, 0.05), (x) => (x > 0 ? x : 0.05 * x)],
  ['sigmoid', ops.sigmoid, (x) => 1 / (1 + Math.exp(-x))],
  ['square', ops.square, (x) => x * x],
  ['affine', (x) => ops.affine(x, -2.5, 0.75), (x) => -2.5 * x + 0.75],
];

for (const [name, fn, ref] of unaryOps) {
  for (const shape of [[2, 3, 5, 7], [1, 1, 1, 1], [7], [70001]]) {
    test(`${name} ${JSON.stringify(shape)}`, async () => {
      // Keep inputs off the kink at 0 (by > 1e-3) so the central difference is exact.
      const x = r.uniform(size(shape)).map((v) => (Math.abs(v) < 1e-3 ? 0.5 : v));
      await gradcheck(name, [{ data: x, shape }], ([t]) => fn(t), ([a]) => a.map(ref), { maxChecks: 300 });
    });
  }
}

test('a tensor used twice gets both gradient contributions (x·x + x)', async () => {
  const shape = [3, 4];
  await gradcheck('reuse', [{ data: r.uniform(12), shape }], ([x]) => ops.add(ops.mul(x, x), x), ([a]) => a.map((v) => v * v + v));
});

test('blockBroadcast: a repeated contiguous block of axes reads (i / inner) % count, anything else is null', () => {
  const cases: [number[], number[], { inner: number; count: number } | null][] = [
    [[2, 5, 3, 3], [0, 1, 0, 0], { inner: 9, count: 5 }],
    [[3, 7, 1, 9], [0, 0, 0, 0], { inner: 1, count: 1 }],
    [[2, 3, 4], [0, 0, 1], { inner: 1, count: 4 }],
    [[2, 3, 4], [0, 4, 1], { inner: 1, count: 12 }],
    [[5, 3, 4], [4, 0, 1], null],
    [[4, 5, 3], [0, 1, 0], { inner: 3, count: 5 }],
    [[4, 1, 5], [5, 0, 1], { inner: 1, count: 20 }],
  ];
  for (const [shape, strides, expected] of cases) {
    const got = blockBroadcast(shape, strides);
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      throw new Error(`blockBroadcast(${JSON.stringify(shape)}, ${JSON.stringify(strides)}) = ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
    }
  }
});

test('vec4 kernels write only the tensor: a 5-element view leaves the rest of its buffer alone', async () => {
  const device = await testDevice();
  for (const run of [
    (dst: Tensor, src: Tensor) => K.accumulate(dst, src),
    (dst: Tensor, src: Tensor) => K.unary('affine', src, dst, 2, 1),
    (dst: Tensor, src: Tensor) => K.unaryBackward('relu', src, src, dst),
    (dst: Tensor, src: Tensor) => K.binary('add', src, src, dst),
    (dst: Tensor) => K.fill(dst, 3),
  ]) {
    const whole = Tensor.fromData(device, [1, 2, 3, 4, 5, 6, 7, 8], [8]);
    const view = new Tensor(device, [5], whole.storage(), 0);
    const src = Tensor.fromData(device, [1, 1, 1, 1, 1], [5]);
    run(view, src);
    const got = await whole.read();
    assert.equal(Array.from(got.slice(5)), [6, 7, 8]);
    [whole, view, src].forEach((t) => t.dispose());
  }
});

test.run();
