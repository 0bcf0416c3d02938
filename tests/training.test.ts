// End to end: memory stays flat over a training loop, and a small conv net
// learns to undo a blur.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor, noGrad, ops, tidy } from '../engine/node/index.ts';
import { Conv2d } from '../engine/nn/conv.ts';
import { Adam } from '../engine/optim/adam.ts';
import { Random } from '../engine/random.ts';
import { boxBlur, randomImages, trainDemo } from '../train/demo.ts';
import { testDevice } from './helpers.ts';

test('200 training steps do not grow live memory', async () => {
  const device = await testDevice();
  const rng = new Random(3);
  const c1 = new Conv2d(device, 3, 8, 3, { padding: 1, rng });
  const c2 = new Conv2d(device, 8, 3, 3, { stride: 2, padding: 1, rng });
  const opt = new Adam([...c1.parameters(), ...c2.parameters()], { lr: 1e-3, weightDecay: 1e-4 });
  const target = Tensor.fromData(device, new Float32Array(2 * 3 * 5 * 6).fill(0.25), [2, 3, 5, 6]).keep();
  const live: number[] = [];
  for (let step = 0; step < 200; step++) {
    const loss = tidy(() => {
      const x = Tensor.fromData(device, randomImages(rng, 2, 10).subarray(0, 2 * 3 * 9 * 11), [2, 3, 9, 11]);
      opt.zeroGrad();
      const l = ops.mseLoss(c2.forward(ops.leakyRelu(c1.forward(x), 0.1)), target);
      l.backward();
      opt.step();
      return l;
    });
    if (step % 50 === 49) await loss.item();
    loss.dispose();
    live.push(device.memory().liveBytes);
  }
  assert.is(live[199], live[1], `live bytes moved from ${live[1]} to ${live[199]}`);
  assert.ok(live.every((b) => b === live[1]), 'live bytes constant at every step');
  c1.dispose();
  c2.dispose();
  target.dispose();
});

test('a 3-layer conv net learns to undo a fixed blur (loss falls at least 10×)', async () => {
  const device = await testDevice();
  const losses = await trainDemo(device, { steps: 500, batch: 4, size: 16, log: () => {} });
  const first = losses[0];
  // Mean of the last three logged losses: a single minibatch's loss is noisy.
  const last = losses.slice(-3).reduce((a, b) => a + b, 0) / 3;
  assert.ok(first / last >= 10, `loss fell only ${(first / last).toFixed(1)}× (${first} → ${last})`);
});

test('the blur the demo learns to undo really blurs (not the identity)', async () => {
  const device = await testDevice();
  const blur = boxBlur(device, 3);
  const sharp = Tensor.fromData(device, randomImages(new Random(5), 1, 16), [1, 3, 16, 16]);
  const blurred = noGrad(() => ops.conv2d(sharp, blur, null, { padding: 1 }));
  const diff = await ops.mseLoss(blurred, sharp).item();
  assert.ok(diff > 1e-3, `blur changes the image (mse ${diff})`);
  for (const t of [blur, sharp, blurred]) t.dispose();
});

test.run();
