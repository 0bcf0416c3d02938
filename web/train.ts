// The page's training panel: a small residual conv net learns to undo a
// Gaussian blur on random crops of a picture, forward, backward and Adam on the
// page's GPU, with a live loss and PSNR plot (train/plot.ts, the CLI's own).
// Blurring runs on the GPU too, as a fixed conv; the crops are cut on the CPU.

import { Adam, Conv2d, Module, Random, noGrad, ops, tensor, tidy, type Device, type Tensor } from '../engine/browser/index.ts';
import { lossPlotSvg, type PlotPoint } from '../train/plot.ts';
import type { Planar } from './image.ts';

export const CROP = 48;
const BATCH = 4;
const SIGMA = 1.5;
const RADIUS = 4;
const WIDTH = 16;

/** conv3×3 → ReLU → conv3×3 → ReLU → conv3×3, plus the input: it learns a correction to the blurred picture. */
export class TinyDeblur extends Module {
  readonly head: Conv2d;
  readonly body: Conv2d;
  readonly tail: Conv2d;
  constructor(device: Device, seed = 1) {
    super(device);
    const rng = new Random(seed);
    this.head = this.module('head', new Conv2d(device, 3, WIDTH, 3, { padding: 1, rng }));
    this.body = this.module('body', new Conv2d(device, WIDTH, WIDTH, 3, { padding: 1, rng }));
    this.tail = this.module('tail', new Conv2d(device, WIDTH, 3, 3, { padding: 1, rng }));
  }
  forward(x: Tensor): Tensor {
    const h = this.body.forward(this.head.forward(x, { activation: 'relu' }), { activation: 'relu' });
    return this.tail.forward(h, { residual: x });
  }
}

/** A [3,3,k,k] conv weight that blurs each channel by itself with a normalised Gaussian. */
function gaussianWeight(device: Device): Tensor {
  const k = 2 * RADIUS + 1;
  const g = Array.from({ length: k }, (_, i) => Math.exp(-((i - RADIUS) ** 2) / (2 * SIGMA * SIGMA)));
  const sum = g.reduce((a, b) => a + b, 0);
  const w = new Float32Array(3 * 3 * k * k);
  for (let c = 0; c < 3; c++) for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) w[((c * 3 + c) * k + y) * k + x] = (g[y] * g[x]) / (sum * sum);
  return tensor(w, [3, 3, k, k], { device }).keep();
}

/** `n` crops of (CROP + 2·RADIUS)² at the given corners, batched [n,3,S,S]; the sharp targets are their centres. */
function cutCrops(image: Planar, corners: [number, number][]): { padded: Float32Array; sharp: Float32Array } {
  const S = CROP + 2 * RADIUS;
  const padded = new Float32Array(corners.length * 3 * S * S);
  const sharp = new Float32Array(corners.length * 3 * CROP * CROP);
  corners.forEach(([y0, x0], n) => {
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          const v = image.rgb[(c * image.h + y0 + y) * image.w + x0 + x];
          padded[((n * 3 + c) * S + y) * S + x] = v;
          const [cy, cx] = [y - RADIUS, x - RADIUS];
          if (cy >= 0 && cy < CROP && cx >= 0 && cx < CROP) sharp[((n * 3 + c) * CROP + cy) * CROP + cx] = v;
        }
      }
    }
  });
  return { padded, sharp };
}

export interface TrainEvents {
  onProgress(step: number, points: PlotPoint[], svg: string): void;
  shouldStop(): boolean;
}

/** Trains for `steps` steps; plots every 10 and validates every 50. Resolves with the plotted points. */
export async function trainTiny(device: Device, image: Planar, steps: number, events: TrainEvents): Promise<PlotPoint[]> {
  const S = CROP + 2 * RADIUS;
  if (image.h < S || image.w < S) throw new RangeError(`the picture must be at least ${S}×${S} to train on`);
  const rng = new Random(7);
  const corner = (): [number, number] => [rng.int(image.h - S + 1), rng.int(image.w - S + 1)];
  const model = new TinyDeblur(device);
  const blur = gaussianWeight(device);
  const opt = new Adam(model.parameters(), { lr: 2e-3 });
  const held = cutCrops(image, Array.from({ length: BATCH }, corner));
  const points: PlotPoint[] = [];
  const batchOf = (crops: { padded: Float32Array; sharp: Float32Array }, n: number) => ({
    blurred: noGrad(() => ops.conv2d(tensor(crops.padded, [n, 3, S, S], { device }), blur, null)),
    sharp: tensor(crops.sharp, [n, 3, CROP, CROP], { device }),
  });
  const psnr = (mse: number) => 10 * Math.log10(1 / Math.max(mse, 1e-12));
  try {
    for (let step = 1; step <= steps && !events.shouldStop(); step++) {
      const loss = tidy(() => {
        const { blurred, sharp } = batchOf(cutCrops(image, Array.from({ length: BATCH }, corner)), BATCH);
        const l = ops.mseLoss(model.forward(blurred), sharp);
        opt.zeroGrad();
        l.backward();
        opt.step();
        return l;
      });
      const point: PlotPoint = { step };
      if (step % 10 === 0 || step === 1) point.loss = await loss.item();
      loss.dispose();
      if (step % 50 === 0 || step === 1) {
        const [val, base] = tidy(() => noGrad(() => {
          const { blurred, sharp } = batchOf(held, BATCH);
          return [ops.mseLoss(model.forward(blurred), sharp), ops.mseLoss(blurred, sharp)];
        }));
        [point.valPsnr, point.blurPsnr] = [psnr(await val.item()), psnr(await base.item())];
        val.dispose();
        base.dispose();
      }
      if (point.loss !== undefined || point.valPsnr !== undefined) {
        points.push(point);
        events.onProgress(step, points, lossPlotSvg(points));
      }
    }
  } finally {
    opt.dispose();
    model.dispose();
    blur.dispose();
  }
  return points;
}

export function tinyParameterCount(): number {
  const c = (i: number, o: number) => o * i * 9 + o;
  return c(3, WIDTH) + c(WIDTH, WIDTH) + c(WIDTH, 3);
}
