// Convolution layers with PyTorch's parameter names ("weight", "bias") and default init.

import type { Device } from '../device.ts';
import { Random } from '../random.ts';
import type { Tensor } from '../tensor.ts';
import { conv2d, type Conv2dOptions as Conv2dOpOptions } from '../ops/conv2d.ts';
import { conv3d } from '../ops/conv3d.ts';
import { Module } from './module.ts';
import { uniform } from './init.ts';

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  /** Source of the initial weights; default a fixed seed. */
  rng?: Random;
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly stride: [number, number];
  readonly padding: [number, number];

  constructor(device: Device, inChannels: number, outChannels: number, kernelSize: number | [number, number], options: Conv2dOptions = {}) {
    super(device);
    const [kh, kw] = pair(kernelSize);
    this.stride = pair(options.stride ?? 1);
    this.padding = pair(options.padding ?? 0);
    const rng = options.rng ?? new Random(0);
    const fanIn = inChannels * kh * kw;
    const bound = 1 / Math.sqrt(fanIn);
    this.weight = this.parameter('weight', [outChannels, inChannels, kh, kw], uniform(rng, outChannels * fanIn, bound));
    this.bias = this.parameter('bias', [outChannels], uniform(rng, outChannels, bound));
  }

  /**
   * `epilogue` fuses a residual add and relu, leakyRelu or sigmoid into the
   * conv kernel: `conv.forward(x, { residual: x, activation: 'leakyRelu',
   * negativeSlope: 0.1 })` is `leakyRelu(add(conv.forward(x), x), 0.1)` in one pass.
   */
  forward(x: Tensor, epilogue: Pick<Conv2dOpOptions, 'activation' | 'negativeSlope' | 'residual'> = {}): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, ...epilogue });
  }
}

/** A single-channel Conv3d (1→1) with a separable 1×k×k or k×1×1 kernel, as pseudo-3D convolutions use. */
export class Conv3d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(device: Device, kernelSize: [number, number, number], readonly padding: [number, number, number], options: { rng?: Random } = {}) {
    super(device);
    const rng = options.rng ?? new Random(0);
    const fanIn = kernelSize[0] * kernelSize[1] * kernelSize[2];
    const bound = 1 / Math.sqrt(fanIn);
    this.weight = this.parameter('weight', [1, 1, ...kernelSize], uniform(rng, fanIn, bound));
    this.bias = this.parameter('bias', [1], uniform(rng, 1, bound));
  }

  forward(x: Tensor): Tensor {
    return conv3d(x, this.weight, this.bias, { padding: this.padding });
  }
}
