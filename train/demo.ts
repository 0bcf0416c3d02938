// Demo: a 3-layer conv net learns to undo a fixed 3×3 box blur on random
// images, on the best adapter. Shows the engine end to end: forward, backward,
// Adam, one submit per step, constant memory.
//
//   npm run demo [-- --steps 300]

import { Adam, Conv2d, Device, Module, Random, Tensor, noGrad, ops, tidy } from '../engine/node/index.ts';

class Deblur3 extends Module {
  readonly c1: Conv2d;
  readonly c2: Conv2d;
  readonly c3: Conv2d;
  constructor(device: Device, rng: Random) {
    super(device);
    this.c1 = this.module('c1', new Conv2d(device, 3, 16, 3, { padding: 1, rng }));
    this.c2 = this.module('c2', new Conv2d(device, 16, 16, 3, { padding: 1, rng }));
    this.c3 = this.module('c3', new Conv2d(device, 16, 3, 3, { padding: 1, rng }));
  }
  /** x + c3(relu(c2(relu(c1(x))))), the relus and the skip add fused into the conv kernels. */
  forward(x: Tensor): Tensor {
    const relu = { activation: 'relu' } as const;
    return this.c3.forward(this.c2.forward(this.c1.forward(x, relu), relu), { residual: x });
  }
}

/** A fixed 3×3 box blur per channel, as a conv with a diagonal weight. */
export function boxBlur(device: Device, channels: number): Tensor {
  const w = new Float32Array(channels * channels * 9);
  for (let c = 0; c < channels; c++) w.fill(1 / 9, (c * channels + c) * 9, (c * channels + c + 1) * 9);
  return Tensor.fromData(device, w, [channels, channels, 3, 3]).keep();
}

/** Smooth random images: a few random sinusoids per channel, in [0, 1]. */
export function randomImages(rng: Random, n: number, size: number): Float32Array {
  const out = new Float32Array(n * 3 * size * size);
  for (let i = 0; i < n * 3; i++) {
    const fx = 0.3 + rng.next() * 1.2;
    const fy = 0.3 + rng.next() * 1.2;
    const phase = rng.next() * 6.28;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const v = 0.5 + 0.25 * Math.sin(fx * x + phase) + 0.25 * Math.sin(fy * y + 2 * phase);
        out[(i * size + y) * size + x] = v;
      }
    }
  }
  return out;
}

export async function trainDemo(device: Device, options: { steps: number; batch: number; size: number; log?: (s: string) => void }) {
  const log = options.log ?? console.log;
  const rng = new Random(1);
  const net = new Deblur3(device, rng);
  const blur = boxBlur(device, 3);
  const opt = new Adam(net.parameters(), { lr: 1e-2 });
  const losses: number[] = [];
  const t0 = performance.now();
  for (let step = 1; step <= options.steps; step++) {
    const loss = tidy(() => {
      const sharp = Tensor.fromData(device, randomImages(rng, options.batch, options.size), [options.batch, 3, options.size, options.size]);
      const blurred = noGrad(() => ops.conv2d(sharp, blur, null, { padding: 1 }));
      opt.zeroGrad();
      const l = ops.mseLoss(net.forward(blurred), sharp);
      l.backward();
      opt.step();
      return l;
    });
    if (step === 1 || step % 25 === 0 || step === options.steps) {
      const value = await loss.item();
      losses.push(value);
      const rate = step / ((performance.now() - t0) / 1000);
      log(`step ${String(step).padStart(4)}  loss ${value.toExponential(3)}  ${rate.toFixed(1)} steps/s  live ${(device.memory().liveBytes / 2 ** 20).toFixed(2)} MiB`);
    }
    loss.dispose();
  }
  net.dispose();
  blur.dispose();
  return losses;
}

async function main(): Promise<void> {
  const steps = Number(process.argv[process.argv.indexOf('--steps') + 1]) || 300;
  const device = await Device.create();
  console.log(device.summary());
  console.log(`training a 3-layer conv net to undo a 3×3 box blur on random 32×32 images (${steps} steps, batch 4)`);
  const losses = await trainDemo(device, { steps, batch: 4, size: 32 });
  console.log(`loss fell ${(losses[0] / losses[losses.length - 1]).toFixed(1)}× (${losses[0].toExponential(2)} → ${losses[losses.length - 1].toExponential(2)})`);
  device.destroy();
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
