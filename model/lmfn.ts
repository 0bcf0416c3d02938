// LMFN (Zhang et al., ICIP 2021), exactly as ../shared/LMFN.md specifies:
// an MSHF encoder down to 1/4 scale, an MFFD decoder of 4 RFDBs fused by
// channel attention (ALFM) and a pseudo-3D gate (ACFM), then pixel shuffle ×4.
// Parameter names and layouts are PyTorch's state_dict keys (§6).
//
// Built only from engine modules and ops; the engine knows nothing of LMFN.

import { Conv2d, Conv3d, Device, Module, ModuleList, Random, ShapeError, Tensor, initializers, ops, tidyInInference } from '../engine/index.ts';
import { LMFN_INITS, identityWrites, isLMFNInit, type LMFNInit } from './identity.ts';
import { MIN_SIZE, SIZE_MULTIPLE, modelSize } from './size.ts';

export { MIN_SIZE, SIZE_MULTIPLE, modelSize } from './size.ts';

/** RGB mean subtracted at the input and added back at the output (a constant, not a parameter). */
export const MEAN_RGB = [0.4488, 0.4371, 0.404] as const;

const { sigmoid, add, mul, cat, matmul, softmax, maxPool2d, interpolateBilinear, upsample2x, pixelShuffle } = ops;

// Activations that follow a conv, and residual adds before them, run inside the conv kernel (ops.conv2d's epilogue).
const RELU = { activation: 'relu' } as const;
const LEAKY_01 = { activation: 'leakyRelu', negativeSlope: 0.1 } as const;
const LEAKY_005 = { activation: 'leakyRelu', negativeSlope: 0.05 } as const;

/** x + conv2(relu(conv1(x))), both 3×3 64→64; EDVR init: Kaiming normal × 0.1, zero bias. */
class ResBlock extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  constructor(device: Device, rng: Random, channels = 64) {
    super(device);
    this.conv1 = this.module('conv1', new Conv2d(device, channels, channels, 3, { padding: 1, rng }));
    this.conv2 = this.module('conv2', new Conv2d(device, channels, channels, 3, { padding: 1, rng }));
    for (const conv of [this.conv1, this.conv2]) {
      const fanIn = channels * 9;
      conv.weight.write(initializers.kaimingNormal(rng, conv.weight.size, fanIn).map((v) => v * 0.1));
      conv.bias.write(new Float32Array(channels));
    }
  }
  forward(x: Tensor): Tensor {
    return this.conv2.forward(this.conv1.forward(x, RELU), { residual: x });
  }
}

/** MSHF (§4): output is 64 channels at 1/4 scale. */
class Encoder extends Module {
  readonly head: Conv2d;
  readonly down: Conv2d[];
  readonly res4: ResBlock;
  readonly res3a: ResBlock;
  readonly res3b: ResBlock;
  readonly res2: ModuleList<ResBlock>;
  constructor(device: Device, rng: Random) {
    super(device);
    this.head = this.module('head', new Conv2d(device, 3, 64, 3, { padding: 1, rng }));
    this.down = [1, 2, 3, 4].map((i) => this.module(`down${i}`, new Conv2d(device, 64, 64, 3, { stride: 2, padding: 1, rng })));
    this.res4 = this.module('res4', new ResBlock(device, rng));
    this.res3a = this.module('res3a', new ResBlock(device, rng));
    this.res3b = this.module('res3b', new ResBlock(device, rng));
    this.res2 = this.module('res2', new ModuleList(device, [0, 1, 2, 3, 4].map(() => new ResBlock(device, rng))));
  }
  forward(x: Tensor): Tensor {
    // The full-scale map is the network's largest by far: in inference it is gone as soon as f1 exists (the peak is f0 + f1).
    const f1 = tidyInInference(() => this.down[0].forward(this.head.forward(x, LEAKY_01), LEAKY_01));
    const f2 = this.down[1].forward(f1, LEAKY_01);
    const f3 = this.down[2].forward(f2, LEAKY_01);
    const f4 = this.down[3].forward(f3, LEAKY_01);
    const g3 = add(this.res3a.forward(f3), upsample2x(this.res4.forward(f4)));
    const u3 = upsample2x(this.res3b.forward(g3));
    const [r0, r1, r2, r3, r4] = this.res2.items;
    const g2 = add(r1.forward(r0.forward(f2)), u3);
    return r4.forward(r3.forward(r2.forward(g2)));
  }
}

/** RFDN's enhanced spatial attention with f = 12 (§5.2). */
class ESA extends Module {
  readonly conv1: Conv2d;
  readonly conv_f: Conv2d;
  readonly conv_max: Conv2d;
  readonly conv2: Conv2d;
  readonly conv3: Conv2d;
  readonly conv3_: Conv2d;
  readonly conv4: Conv2d;
  constructor(device: Device, rng: Random, channels = 50) {
    super(device);
    const f = Math.floor(channels / 4);
    this.conv1 = this.module('conv1', new Conv2d(device, channels, f, 1, { rng }));
    this.conv_f = this.module('conv_f', new Conv2d(device, f, f, 1, { rng }));
    this.conv_max = this.module('conv_max', new Conv2d(device, f, f, 3, { padding: 1, rng }));
    this.conv2 = this.module('conv2', new Conv2d(device, f, f, 3, { stride: 2, padding: 0, rng }));
    this.conv3 = this.module('conv3', new Conv2d(device, f, f, 3, { padding: 1, rng }));
    this.conv3_ = this.module('conv3_', new Conv2d(device, f, f, 3, { padding: 1, rng }));
    this.conv4 = this.module('conv4', new Conv2d(device, f, channels, 1, { rng }));
  }
  forward(x: Tensor): Tensor {
    const [, , h, w] = x.shape;
    const c1_ = this.conv1.forward(x);
    const c1 = this.conv2.forward(c1_);
    let v = maxPool2d(c1, 7, 3);
    v = this.conv_max.forward(v, RELU);
    let c3 = this.conv3.forward(v, RELU);
    c3 = this.conv3_.forward(c3);
    c3 = interpolateBilinear(c3, [h, w]);
    const m = this.conv4.forward(this.conv_f.forward(c1_, { residual: c3 }), { activation: 'sigmoid' });
    return mul(x, m);
  }
}

/** RFDN's residual feature distillation block, C = 50, dc = 25, LReLU(0.05) (§5.2). */
class RFDB extends Module {
  readonly c1_d: Conv2d;
  readonly c1_r: Conv2d;
  readonly c2_d: Conv2d;
  readonly c2_r: Conv2d;
  readonly c3_d: Conv2d;
  readonly c3_r: Conv2d;
  readonly c4: Conv2d;
  readonly c5: Conv2d;
  readonly esa: ESA;
  constructor(device: Device, rng: Random, channels = 50) {
    super(device);
    const dc = channels / 2;
    const conv = (name: string, cin: number, cout: number, k: number) =>
      this.module(name, new Conv2d(device, cin, cout, k, { padding: (k - 1) / 2, rng }));
    this.c1_d = conv('c1_d', channels, dc, 1);
    this.c1_r = conv('c1_r', channels, channels, 3);
    this.c2_d = conv('c2_d', channels, dc, 1);
    this.c2_r = conv('c2_r', channels, channels, 3);
    this.c3_d = conv('c3_d', channels, dc, 1);
    this.c3_r = conv('c3_r', channels, channels, 3);
    this.c4 = conv('c4', channels, dc, 3);
    this.c5 = conv('c5', dc * 4, channels, 1);
    this.esa = this.module('esa', new ESA(device, rng, channels));
  }
  forward(x: Tensor): Tensor {
    const d1 = this.c1_d.forward(x, LEAKY_005);
    const r1 = this.c1_r.forward(x, { ...LEAKY_005, residual: x });
    const d2 = this.c2_d.forward(r1, LEAKY_005);
    const r2 = this.c2_r.forward(r1, { ...LEAKY_005, residual: r1 });
    const d3 = this.c3_d.forward(r2, LEAKY_005);
    const r3 = this.c3_r.forward(r2, { ...LEAKY_005, residual: r2 });
    const r4 = this.c4.forward(r3, LEAKY_005);
    return this.esa.forward(this.c5.forward(cat([d1, d2, d3, r4], 1)));
  }
}

/** Learnable scalar initialised to 0, under the given parameter name. */
class Scalar extends Module {
  readonly value: Tensor;
  constructor(device: Device, name: string) {
    super(device);
    this.value = this.parameter(name, [1], new Float32Array(1));
  }
}

/** Channel-level softmax attention across all RFDB outputs (§5.3): θ·softmax(−XXᵀ)X + X. */
class ALFM extends Scalar {
  constructor(device: Device) {
    super(device, 'theta');
  }
  forward(layers: Tensor[]): Tensor {
    const [b, , h, w] = layers[0].shape;
    const stacked = cat(layers, 1);
    const x = stacked.reshape(b, stacked.shape[1], h * w);
    const energy = matmul(x, x, { transB: true });
    const attention = softmax(energy, { scale: -1 });
    const y = matmul(attention, x);
    return add(mul(y, this.value), x).reshape(b, stacked.shape[1], h, w);
  }
}

/** Pseudo-3D conv gate over the channel axis (§5.4): x + α·sigmoid(conv2(conv1(x)))·x. */
class ACFM extends Scalar {
  readonly conv1: Conv3d;
  readonly conv2: Conv3d;
  constructor(device: Device, rng: Random) {
    super(device, 'alpha');
    this.conv1 = this.module('conv1', new Conv3d(device, [1, 3, 3], [0, 1, 1], { rng }));
    this.conv2 = this.module('conv2', new Conv3d(device, [3, 1, 1], [1, 0, 0], { rng }));
  }
  forward(x: Tensor): Tensor {
    const [b, c, h, w] = x.shape;
    const volume = x.reshape(b, 1, c, h, w);
    const gate = sigmoid(this.conv2.forward(this.conv1.forward(volume))).reshape(b, c, h, w);
    return add(x, mul(mul(gate, x), this.value));
  }
}

/** MFFD (§5): everything at 1/4 scale with 50 channels, back to full size by pixel shuffle. */
class Decoder extends Module {
  readonly head: Conv2d;
  readonly rfdb: ModuleList<RFDB>;
  readonly alfm: ALFM;
  readonly alfm_fuse: Conv2d;
  readonly acfm: ACFM;
  readonly fuse: Conv2d;
  readonly tail: Conv2d;
  constructor(device: Device, rng: Random, channels = 50, blocks = 4) {
    super(device);
    this.head = this.module('head', new Conv2d(device, 64, channels, 3, { padding: 1, rng }));
    this.rfdb = this.module('rfdb', new ModuleList(device, Array.from({ length: blocks }, () => new RFDB(device, rng, channels))));
    this.alfm = this.module('alfm', new ALFM(device));
    this.alfm_fuse = this.module('alfm_fuse', new Conv2d(device, channels * blocks, channels, 1, { rng }));
    this.acfm = this.module('acfm', new ACFM(device, rng));
    this.fuse = this.module('fuse', new Conv2d(device, channels * 2, channels, 3, { padding: 1, rng }));
    this.tail = this.module('tail', new Conv2d(device, channels, 48, 3, { padding: 1, rng }));
  }
  forward(e: Tensor): Tensor {
    const h = this.head.forward(e);
    const outs: Tensor[] = [];
    let o = h;
    for (const rfdb of this.rfdb) outs.push((o = rfdb.forward(o)));
    const a = this.alfm_fuse.forward(this.alfm.forward(outs), LEAKY_005);
    const c = this.acfm.forward(outs[outs.length - 1]);
    const y = this.fuse.forward(cat([a, c], 1), { residual: h });
    return pixelShuffle(this.tail.forward(y), 4);
  }
}

export interface LMFNOptions {
  /** Seed of the initial weights (§9). */
  seed?: number;
  /**
   * 'paper' (default): §9's initialisation. 'identity': the same, with the layers on the
   * picture's path set so that the network returns its input (model/identity.ts).
   */
  init?: LMFNInit;
}

export class LMFN extends Module {
  readonly encoder: Encoder;
  readonly decoder: Decoder;
  private readonly mean: Tensor;

  constructor(device: Device, options: LMFNOptions = {}) {
    super(device);
    const rng = new Random(options.seed ?? 0);
    this.encoder = this.module('encoder', new Encoder(device, rng));
    this.decoder = this.module('decoder', new Decoder(device, rng));
    this.mean = Tensor.fromData(device, MEAN_RGB, [1, 3, 1, 1]).keep();
    const init = options.init ?? 'paper';
    if (!isLMFNInit(init)) throw new RangeError(`LMFN: init must be ${LMFN_INITS.map((i) => `'${i}'`).join(' or ')}, got '${init}'`);
    if (init === 'identity') {
      const params = new Map(this.namedParameters());
      for (const { name, data } of identityWrites()) params.get(name)!.write(data, 0);
    }
  }

  /** Throws unless H and W are multiples of 16 and at least 64 (§2). */
  static checkSize(shape: readonly number[]): void {
    const [, c, h, w] = shape;
    if (shape.length !== 4 || c !== 3) throw new ShapeError(`LMFN: input must be [N,3,H,W], got [${shape.join(',')}]`);
    if (h % SIZE_MULTIPLE || w % SIZE_MULTIPLE || h < MIN_SIZE || w < MIN_SIZE) {
      throw new ShapeError(
        `LMFN: input is ${h}×${w}; H and W must be multiples of ${SIZE_MULTIPLE} and at least ${MIN_SIZE} ` +
          `(replicate-pad the bottom/right edges first, e.g. with padToModelSize)`,
      );
    }
  }

  /** x: [N,3,H,W] RGB in [0,1] → deblurred [N,3,H,W] (unclamped). */
  forward(x: Tensor): Tensor {
    LMFN.checkSize(x.shape);
    return add(this.decoder.forward(this.encoder.forward(ops.sub(x, this.mean))), this.mean);
  }

  override dispose(): void {
    super.dispose();
    this.mean.dispose();
  }
}

/** Replicate-pads the bottom and right edges up to the model size (§2). */
export function padToModelSize(x: Tensor): Tensor {
  const [, , h, w] = x.shape;
  const [ph, pw] = modelSize(h, w);
  return ph === h && pw === w ? x : ops.padReplicate(x, [0, pw - w, 0, ph - h]);
}
