// Core engine behaviour: views, memory ownership, autograd bookkeeping, and
// clear errors for misuse and for broken kernels.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Device, DeviceLostError, DeviceMismatchError, DisposedError, EngineError, Kernel, KernelError, ShapeError, Tensor, launch, noGrad, ops, tidy,
  type RecordedDispatch,
} from '../engine/node/index.ts';
import { profileDispatches } from '../bench/profile.ts';
import { assertClose, assertThrows, testDevice } from './helpers.ts';

test('reshape is a view: no copy, shared buffer, gradient flows back', async () => {
  const d = await testDevice();
  const x = Tensor.fromData(d, [1, 2, 3, 4, 5, 6], [2, 3]).requireGrad();
  const before = d.memory().liveBytes;
  const v = x.reshape(3, -1);
  assert.equal(v.shape, [3, 2]);
  assert.is(d.memory().liveBytes, before, 'a view allocates nothing');
  ops.sum(ops.mul(v, v)).backward();
  assertClose(await x.grad!.read(), [2, 4, 6, 8, 10, 12], 'grad through reshape');
  x.dispose();
  assert.ok(!v.disposed && (await v.read())[5] === 6, 'the view keeps the buffer alive');
  await assertThrows(() => x.reshape(4, 4), DisposedError);
  await assertThrows(() => v.reshape(4, 2), ShapeError, 'reshape', '[3,2]', '[4,2]');
});

test('using a disposed tensor names the tensor', async () => {
  const d = await testDevice();
  const a = Tensor.fromData(d, [1, 2], [2]);
  a.name = 'weights';
  a.dispose();
  await assertThrows(() => ops.relu(a), DisposedError, "'weights'", 'dispose');
  await assertThrows(() => a.read(), DisposedError);
});

test('backward after a saved tensor was disposed says which op needed it', async () => {
  const d = await testDevice();
  const x = Tensor.fromData(d, [1, -2, 3], [3]).requireGrad();
  const y = Tensor.fromData(d, [4, 5, 6], [3]).requireGrad();
  const loss = ops.sum(ops.mul(x, y));
  y.dispose();
  await assertThrows(() => loss.backward(), DisposedError, 'backward of mul');
});

test('mixing devices is an error', async () => {
  const d = await testDevice();
  const other = await Device.create({ adapter: d.description.kind });
  try {
    const a = Tensor.fromData(d, [1, 2], [2]);
    const b = Tensor.fromData(other, [1, 2], [2]);
    await assertThrows(() => ops.add(a, b), DeviceMismatchError, 'add', 'different devices');
  } finally {
    other.destroy();
  }
});

test('a lost device gives a clear error, not a hang', async () => {
  const d = await testDevice();
  const other = await Device.create({ adapter: d.description.kind });
  const a = Tensor.fromData(other, [1, 2, 3], [3]);
  const b = ops.mul(a, a);
  const pending = b.read();
  other.destroy();
  // A read in flight either completes or fails with DeviceLostError; it never hangs.
  await pending.catch((e) => assert.instance(e, DeviceLostError));
  await assertThrows(() => ops.add(a, a), DeviceLostError, 'lost');
  await assertThrows(() => a.read(), DeviceLostError, 'lost');
  await assertThrows(() => other.sync(), DeviceLostError);
});

test('shape errors name the op and both shapes', async () => {
  const d = await testDevice();
  const a = Tensor.fromData(d, new Float32Array(6), [2, 3]);
  const b = Tensor.fromData(d, new Float32Array(4), [4]);
  await assertThrows(() => ops.mul(a, b), ShapeError, 'mul', '[2,3]', '[4]');
  await assertThrows(() => Tensor.fromData(d, [1, 2, 3], [2, 2]), ShapeError, '3 values', '[2,2]');
  await assertThrows(() => ops.sum(a, 2), ShapeError, 'sum', 'axis 2');
});

test('a WGSL compile error names the kernel and shows the offending line', async () => {
  const d = await testDevice();
  const broken = new Kernel({
    name: 'test.broken',
    source: 'override WG_X: u32 = 64;\noverride WG_Y: u32 = 1;\noverride WG_Z: u32 = 1;\n' +
      '@group(0) @binding(0) var<storage, read_write> o: array<f32>;\n' +
      '@compute @workgroup_size(WG_X) fn main(@builtin(global_invocation_id) g: vec3u) { o[g.x] = undefined_thing; }',
    entryPoint: 'main',
    bindings: ['write'],
    params: false,
    workgroupSize: [64],
  });
  const out = Tensor.empty(d, [64]);
  launch(d, broken, { buffers: [out.range()], groups: [1] });
  await assertThrows(() => d.sync(), KernelError, 'test.broken', 'undefined_thing');
  out.dispose();
  await d.sync(); // the error is reported once; the device stays usable
});

test('a launch that breaks limits is refused up front, naming the kernel', async () => {
  const d = await testDevice();
  const x = Tensor.fromData(d, [1], [1]);
  const y = Tensor.empty(d, [1]);
  await assertThrows(
    () => launch(d, new Kernel({ name: 'test.toomany', source: '', entryPoint: 'main', bindings: ['read', 'write'], params: false, workgroupSize: [64] }), {
      buffers: [x.range(), y.range()],
      groups: [70000],
    }),
    KernelError, 'test.toomany', '70000',
  );
});

test('tidy frees everything but the result; kept tensors and parameters survive', async () => {
  const d = await testDevice();
  const w = Tensor.fromData(d, [1, 2, 3], [3]).requireGrad().keep();
  const start = d.memory().liveBytes;
  const out = tidy(() => {
    const a = ops.mul(w, w);
    const b = ops.add(a, 1);
    return ops.sum(b);
  });
  assert.is(await out.item(), 1 + 4 + 9 + 3);
  assert.is(d.memory().liveBytes - start, 16, 'only the one-element result (16-byte buffer) is left');
  out.dispose();
  assert.is(d.memory().liveBytes, start);
  await assertThrows(() => tidy(async () => 1), EngineError, 'synchronous');
  // An exception inside frees the scope's tensors too.
  assert.throws(() => tidy(() => {
    ops.mul(w, w);
    throw new Error('boom');
  }), /boom/);
  assert.is(d.memory().liveBytes, start);
  w.dispose();
});

test('gradients accumulate across backward calls; noGrad records nothing', async () => {
  const d = await testDevice();
  const x = Tensor.fromData(d, [1, 2, 3], [3]).requireGrad();
  ops.sum(ops.mul(x, 3)).backward();
  ops.sum(ops.mul(x, x)).backward();
  assertClose(await x.grad!.read(), [3 + 2, 3 + 4, 3 + 6], 'accumulated');
  const y = noGrad(() => ops.mul(x, x));
  assert.is(y.requiresGrad, false);
  await assertThrows(() => y.backward(), EngineError, 'does not require grad');
  await assertThrows(() => ops.mul(x, x).backward(), ShapeError, 'not a scalar');
});

test('diamond and deep graphs: each node runs once, no recursion limit', async () => {
  const d = await testDevice();
  const x = Tensor.fromData(d, [0.5, -1.5], [2]).requireGrad();
  // y = (x + x·2)·(x − 1): both branches reuse x.
  const a = ops.add(x, ops.mul(x, 2));
  const b = ops.sub(x, 1);
  ops.sum(ops.mul(a, b)).backward();
  // d/dx 3x(x−1) = 6x − 3
  assertClose(await x.grad!.read(), [0, -12], 'diamond');
  const z = Tensor.fromData(d, [1], [1]).requireGrad();
  const loss = tidy(() => {
    let h = z;
    for (let i = 0; i < 20000; i++) h = ops.add(h, 0.5);
    return h;
  });
  // 20,000 chained ops would overflow a recursive topological sort.
  assert.is(await loss.item(), 10001);
});

test('memory counters: live, pooled and peak bytes', async () => {
  const d = await testDevice();
  const start = d.memory();
  const t = Tensor.empty(d, [1000]);
  assert.is(d.memory().liveBytes - start.liveBytes, 4000);
  t.dispose();
  const after = d.memory();
  assert.is(after.liveBytes, start.liveBytes);
  assert.ok(after.pooledBytes >= 4000, 'the buffer went back to the pool');
  assert.ok(after.peakBytes >= start.liveBytes + 4000);
  const again = Tensor.empty(d, [1000]);
  assert.is(d.memory().pooledBytes, after.pooledBytes - 4000, 'the pooled buffer is reused');
  again.dispose();
});

test('Device.capture records each dispatch by kernel name, and the profiler replays them', async () => {
  const device = await testDevice();
  const x = Tensor.fromData(device, Float32Array.from({ length: 64 }, (_, i) => i - 32), [8, 8]);
  const captured: RecordedDispatch[] = [];
  device.capture = captured;
  try {
    tidy(() => void ops.add(ops.relu(x), ops.relu(ops.neg(x))));
  } finally {
    device.capture = null;
  }
  assert.equal(captured.map((d) => d.kernel).sort(), ['elementwise.binary_vec4', 'elementwise.unary', 'elementwise.unary', 'elementwise.unary']);
  const rows = await profileDispatches(device, captured, 2);
  assert.equal(rows.map((r) => [r.kernel, r.dispatches]).sort(), [['elementwise.binary_vec4', 1], ['elementwise.unary', 3]]);
  assert.ok(rows.every((r) => r.ms > 0));
  x.dispose();
});

test.run();
