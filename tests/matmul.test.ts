import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError, Tensor, ops } from '../engine/node/index.ts';
import { planMatmul } from '../kernels/matmul.ts';
import { kernelFamily, useKernelFamily } from '../kernels/family.ts';
import { TILE_PLANS } from '../kernels/gemm_tiles.ts';
import { planMatmulTiled } from '../kernels/matmul_tiled.ts';
import { assertClose, assertThrows, gradcheck, rng, testDevice } from './helpers.ts';
import { attentionRef, matmulRef } from './ref/matmul.ts';

const r = rng(29);

/** Stored shape of an operand: [rows, cols] of op(X), swapped when transposed, with an optional batch. */
function stored(batch: number | null, rows: number, cols: number, trans: boolean): number[] {
  const s = trans ? [cols, rows] : [rows, cols];
  return batch === null ? s : [batch, ...s];
}
const size = (s: number[]) => s.reduce((x, y) => x * y, 1);

interface Case {
  name: string;
  m: number;
  k: number;
  n: number;
  batchA: number | null;
  batchB: number | null;
}

const cases: Case[] = [
  { name: '1×1×1', m: 1, k: 1, n: 1, batchA: null, batchB: null },
  { name: '7×13×5', m: 7, k: 13, n: 5, batchA: null, batchB: null },
  // M, N past one 64×64 tile and not multiples of the 8×8 register block.
  { name: '33×65×17', m: 33, k: 17, n: 65, batchA: null, batchB: null },
  { name: '67×3×9', m: 67, k: 3, n: 9, batchA: null, batchB: null },
  { name: 'batched 3×(7×13×5)', m: 7, k: 13, n: 5, batchA: 3, batchB: 3 },
  { name: 'batched 2×(9×4×70)', m: 9, k: 4, n: 70, batchA: 2, batchB: 2 },
  { name: '3-D a, shared 2-D b', m: 6, k: 11, n: 10, batchA: 3, batchB: null },
  { name: 'shared 2-D a, 3-D b', m: 6, k: 11, n: 10, batchA: null, batchB: 2 },
  // Multiples of 4 (the vec4 kernel) but not of the 8×8 block or the 64×64 tile.
  { name: '12×20×36', m: 12, k: 20, n: 36, batchA: null, batchB: null },
  { name: '68×8×4', m: 68, k: 8, n: 4, batchA: null, batchB: null },
  { name: 'batched 2×(12×8×68)', m: 12, k: 8, n: 68, batchA: 2, batchB: 2 },
  { name: '3-D a, shared 2-D b, ×4', m: 4, k: 12, n: 8, batchA: 3, batchB: null },
  { name: 'shared 2-D a, 3-D b, ×4', m: 4, k: 12, n: 8, batchA: null, batchB: 2 },
  // The CPU adapter's 8×32 vec4 blocks: several blocks each way, edge blocks partly outside.
  { name: '36×8×52', m: 36, k: 8, n: 52, batchA: null, batchB: null },
  { name: '20×4×76', m: 20, k: 4, n: 76, batchA: null, batchB: null },
  { name: 'batched 2×(20×12×28)', m: 20, k: 12, n: 28, batchA: 2, batchB: 2 },
];

for (const c of cases) {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      const kernel = planMatmul({ batch: 1, m: c.m, n: c.n, k: c.k, transA, transB }).vec4 ? 'vec4' : 'scalar';
      test(`matmul ${c.name} transA=${transA} transB=${transB} (${kernel} kernel)`, async () => {
        const sa = stored(c.batchA, c.m, c.k, transA);
        const sb = stored(c.batchB, c.k, c.n, transB);
        const batch = c.batchA ?? c.batchB ?? 1;
        await gradcheck(
          'matmul',
          [{ data: r.uniform(size(sa)), shape: sa }, { data: r.uniform(size(sb)), shape: sb }],
          ([a, b]) => ops.matmul(a, b, { transA, transB }),
          ([a, b]) =>
            matmulRef(a, b, { batch, m: c.m, n: c.n, k: c.k, transA, transB, batchedA: c.batchA !== null, batchedB: c.batchB !== null }),
          { maxChecks: 150 },
        );
      });
    }
  }
}

test('matmul output shapes', async () => {
  const device = await testDevice();
  const t = (...shape: number[]) => Tensor.empty(device, shape);
  assert.equal(ops.matmul(t(3, 4), t(4, 5)).shape, [3, 5]);
  assert.equal(ops.matmul(t(4, 3), t(5, 4), { transA: true, transB: true }).shape, [3, 5]);
  assert.equal(ops.matmul(t(2, 3, 4), t(4, 5)).shape, [2, 3, 5]);
  assert.equal(ops.matmul(t(3, 4), t(2, 4, 5)).shape, [2, 3, 5]);
});

test('matmul b without grad gets no gradient work', async () => {
  const sa = [5, 8];
  const sb = [8, 3];
  await gradcheck(
    'matmul',
    [{ data: r.uniform(40), shape: sa }, { data: r.uniform(24), shape: sb, grad: false }],
    ([a, b]) => ops.matmul(a, b),
    ([a, b]) => matmulRef(a, b, { batch: 1, m: 5, n: 3, k: 8 }),
  );
});

// The tiled family (matmul_tiled.wgsl, the GPU default) on the same shapes, with the test device pinned to it.
async function withTiled(fn: () => Promise<void>): Promise<void> {
  const device = await testDevice();
  const before = kernelFamily(device);
  useKernelFamily(device, 'tiled');
  try {
    await fn();
  } finally {
    useKernelFamily(device, before);
  }
}

for (const c of [cases[1], cases[2], cases[4], cases[5], cases[6], cases[7], cases[14]]) {
  test(`matmul, tiled family: ${c.name}, all four transposes`, () =>
    withTiled(async () => {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const sa = stored(c.batchA, c.m, c.k, transA);
          const sb = stored(c.batchB, c.k, c.n, transB);
          const batch = c.batchA ?? c.batchB ?? 1;
          await gradcheck(
            `matmul tiled transA=${transA} transB=${transB}`,
            [{ data: r.uniform(size(sa)), shape: sa }, { data: r.uniform(size(sb)), shape: sb }],
            ([a, b]) => ops.matmul(a, b, { transA, transB }),
            ([a, b]) =>
              matmulRef(a, b, { batch, m: c.m, n: c.n, k: c.k, transA, transB, batchedA: c.batchA !== null, batchedB: c.batchB !== null }),
            { maxChecks: 40 },
          );
        }
      }
    }));
}

test('matmul, tiled family: split-K over a long K (X·Xᵀ, X 6×20000) and its plan', () =>
  withTiled(async () => {
    const [c, k] = [6, 20000];
    const plan = planMatmulTiled({ batch: 1, m: c, n: c, k }, TILE_PLANS[0]);
    assert.ok(plan.splits > 1 && plan.chunk % TILE_PLANS[0].tileK === 0 && (plan.splits - 1) * plan.chunk < k && plan.splits * plan.chunk >= k);
    await gradcheck(
      'matmul tiled split-K',
      [{ data: r.uniform(c * k), shape: [c, k] }, { data: r.uniform(c * k), shape: [c, k] }],
      ([a, b]) => ops.matmul(a, b, { transB: true }),
      ([a, b]) => matmulRef(a, b, { batch: 1, m: c, n: c, k, transB: true }),
      { maxChecks: 12 },
    );
    // ALFM at 720p: 200×200 outputs over K = 57,600 fill an H100; A·X (200×57,600 outputs) does not split.
    const xxt = planMatmulTiled({ batch: 1, m: 200, n: 200, k: 57600 }, TILE_PLANS[0]);
    assert.ok(xxt.groups[0] * xxt.groups[1] * xxt.groups[2] >= 132 * 2, JSON.stringify(xxt));
    assert.is(planMatmulTiled({ batch: 1, m: 200, n: 57600, k: 200 }, TILE_PLANS[0]).splits, 1);
  }));

test('split-K plan: long K over few outputs splits, short K and big outputs do not', () => {
  const xxt = planMatmul({ batch: 1, m: 200, n: 200, k: 57600 });
  assert.ok(xxt.splits > 1, `X·Xᵀ splits ${xxt.splits}`);
  assert.ok(xxt.splits * xxt.chunk >= 57600 && (xxt.splits - 1) * xxt.chunk < 57600, 'splits cover K with none empty');
  assert.ok(planMatmul({ batch: 1, m: 12, n: 12, k: 20000 }).splits > 1);
  assert.is(planMatmul({ batch: 1, m: 33, n: 65, k: 17 }).splits, 1);
  assert.is(planMatmul({ batch: 1, m: 1024, n: 1024, k: 1024 }).splits, 1);
  assert.is(planMatmul({ batch: 1, m: 1024, n: 1024, k: 1024 }, 'cpu').splits, 1);
  const cpu = planMatmul({ batch: 4, m: 200, n: 200, k: 256, transB: true }, 'cpu');
  assert.equal([cpu.tm, cpu.tn4, cpu.splits], [8, 8, 1]);
  const small = planMatmul({ batch: 1, m: 12, n: 8, k: 4 }, 'cpu');
  assert.equal([small.tm, small.tn4], [8, 2]);
  assert.ok(xxt.vec4);
  assert.is(planMatmul({ batch: 1, m: 8, n: 8, k: 6 }).vec4, false);
  assert.is(planMatmul({ batch: 1, m: 6, n: 8, k: 8, transA: true }).vec4, false);
  assert.is(planMatmul({ batch: 1, m: 6, n: 8, k: 8 }).vec4, true);
  assert.is(planMatmul({ batch: 1, m: 8, n: 6, k: 8, transB: true }).vec4, true);
  // A·X in ALFM: 200×57,600 outputs, K = 200.
  assert.is(planMatmul({ batch: 2, m: 200, n: 57600, k: 200 }).splits, 1);
  for (const dims of [
    { batch: 3, m: 1, n: 1, k: 1 },
    { batch: 1, m: 5, n: 5, k: 0 },
    { batch: 40000, m: 2, n: 2, k: 100000 },
  ]) {
    const p = planMatmul(dims);
    assert.ok(p.splits >= 1 && p.chunk % 4 === 0 && p.groups.every((g) => g <= 65535), JSON.stringify({ dims, p }));
  }
});

test('matmul long K takes the split-K path (12×20000 · 20000×12)', async () => {
  const k = 20000;
  const plan = planMatmul({ batch: 1, m: 12, n: 12, k });
  assert.ok(plan.splits > 1 && plan.vec4);
  await gradcheck(
    'matmul split-K',
    [{ data: r.uniform(12 * k), shape: [12, k] }, { data: r.uniform(k * 12), shape: [k, 12] }],
    ([a, b]) => ops.matmul(a, b),
    ([a, b]) => matmulRef(a, b, { batch: 1, m: 12, n: 12, k }),
    { maxChecks: 20 },
  );
});

test('ALFM X·Xᵀ at 720×1280: K = 57,600, the longest inner dimension LMFN has (X 6×57600)', async () => {
  const [c, k] = [6, 57600];
  assert.ok(planMatmul({ batch: 1, m: c, n: c, k, transB: true }).splits > 1);
  await gradcheck(
    'matmul K=57600',
    [{ data: r.uniform(c * k), shape: [1, c, k] }, { data: r.uniform(c * k), shape: [1, c, k] }],
    ([a, b]) => ops.matmul(a, b, { transB: true }),
    ([a, b]) => matmulRef(a, b, { batch: 1, m: c, n: c, k, transB: true }),
    { maxChecks: 12 },
  );
});

// X·Xᵀ with X as both operands: the gradient sums both paths (batched, split-K), on either kernel.
for (const { c, k, vec4 } of [{ c: 5, k: 1537, vec4: false }, { c: 8, k: 1540, vec4: true }]) {
  test(`X·Xᵀ with X as both operands, ${vec4 ? 'vec4' : 'scalar'} kernel, split-K`, async () => {
    const batch = 2;
    const plan = planMatmul({ batch, m: c, n: c, k, transB: true });
    assert.ok(plan.splits > 1 && plan.vec4 === vec4);
    await gradcheck(
      'X·Xᵀ',
      [{ data: r.uniform(batch * c * k), shape: [batch, c, k] }],
      ([x]) => ops.matmul(x, x, { transB: true }),
      ([x]) => matmulRef(x, x, { batch, m: c, n: c, k, transB: true, batchedA: true, batchedB: true }),
      { maxChecks: 60 },
    );
  });
}

test('Xᵀ·X with X as both operands (2-D)', async () => {
  await gradcheck(
    'Xᵀ·X',
    [{ data: r.uniform(9 * 4), shape: [9, 4] }],
    ([x]) => ops.matmul(x, x, { transA: true }),
    ([x]) => matmulRef(x, x, { batch: 1, m: 4, n: 4, k: 9, transA: true }),
  );
});

for (const [batch, c, k] of [[2, 6, 23], [2, 8, 24]]) {
  test(`ALFM chain softmax(−X·Xᵀ)·X, X [${batch},${c},${k}]`, async () => {
    await gradcheck(
      'ALFM',
      [{ data: r.uniform(batch * c * k, -0.4, 0.4), shape: [batch, c, k] }],
      ([x]) => ops.matmul(ops.softmax(ops.matmul(x, x, { transB: true }), { scale: -1 }), x),
      ([x]) => attentionRef(x, batch, c, k),
    );
  });
}

test('matmul shape errors', async () => {
  const device = await testDevice();
  const t = (...shape: number[]) => Tensor.empty(device, shape);
  await assertThrows(() => ops.matmul(t(3, 4), t(5, 6)), ShapeError, 'matmul', '[3,4]', '[5,6]', 'inner');
  await assertThrows(() => ops.matmul(t(3, 4), t(4, 5), { transB: true }), ShapeError, 'matmul', 'K = 4', '(transposed) has K = 5');
  await assertThrows(() => ops.matmul(t(2, 3, 4), t(3, 4, 5)), ShapeError, 'matmul', '[2,3,4]', '[3,4,5]', 'batch');
  await assertThrows(() => ops.matmul(t(4), t(4, 2)), ShapeError, 'matmul', '[4]', '[4,2]', '2-D or 3-D');
  await assertThrows(() => ops.matmul(t(1, 2, 3, 4), t(4, 2)), ShapeError, 'matmul', '[1,2,3,4]', '2-D or 3-D');
});

test.run();
