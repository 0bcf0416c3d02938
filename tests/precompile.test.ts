// precompile (engine/kernel.ts): one dry run names the pipelines, which are then
// built with createComputePipelineAsync; the real run after it builds none and
// computes the same values; a kernel that fails to build is reported by name.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Kernel, KernelError, launch, noGrad, ops, precompile, tensor, tidy } from '../engine/node/index.ts';
import { LMFN } from '../model/lmfn.ts';
import { assertClose, rng, testDevice } from './helpers.ts';

test('LMFN forward: the dry run launches nothing, builds every pipeline once, and the real run then builds none', async () => {
  const device = await testDevice();
  const model = new LMFN(device, { seed: 9 });
  const input = Float32Array.from(rng(3).uniform(3 * 64 * 80, 0, 1));
  const forward = () => noGrad(() => model.forward(tensor(input, [1, 3, 64, 80], { device })));
  // Sizes unlike any other test's, so some pipelines are new here whatever ran before.
  const dispatches = device.dispatchCount;
  const built = await precompile(device, () => tidy(() => void forward()));
  assert.is(device.dispatchCount, dispatches, 'the dry run dispatched nothing');
  const before = device.pipelines.size;
  const out = tidy(forward);
  const values = await out.read();
  assert.is(device.pipelines.size, before, `after precompiling (${built} built), the forward built no pipeline`);
  assert.ok(device.dispatchCount > dispatches, 'the real run dispatched');
  assert.is(await precompile(device, () => tidy(() => void forward())), 0, 'nothing left to build');
  const again = tidy(forward);
  assertClose(await again.read(), values, 'same output', { rtol: 0, atol: 0 });
  noGrad(() => [out, again].forEach((t) => t.dispose()));
  model.dispose();
});

test('a kernel that fails to build: precompile rejects with a KernelError naming it', async () => {
  const device = await testDevice();
  const broken = new Kernel({
    name: 'test.broken', source: '@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }', entryPoint: 'main',
    bindings: ['readwrite'], params: false, workgroupSize: [1],
  });
  const x = tensor([1, 2, 3, 4], [4], { device });
  let caught: unknown;
  try {
    await precompile(device, () => launch(device, broken, { buffers: [x.range()], groups: [1] }));
  } catch (e) {
    caught = e;
  }
  assert.instance(caught, KernelError);
  assert.match((caught as Error).message, /test\.broken/);
  // The device is still usable afterwards.
  assert.equal([...(await ops.add(x, x).read())], [2, 4, 6, 8]);
  x.dispose();
});

test.run();
