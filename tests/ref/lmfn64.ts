// Independent float64 CPU reference of the whole LMFN model (forward and
// reverse-mode gradients), written straight from LMFN.md on the tape of
// tests/ref/tape64.ts. It is test infrastructure for checking the GPU engine,
// so it deliberately shares no code with engine/, kernels/ or model/: a bug
// copied into both could not be caught.

import { rng } from './rng.ts';
import { check, numel, same } from './tape64-core.ts';
import { Tape, type T64 } from './tape64.ts';

export { Tape, type T64 } from './tape64.ts';

export const LMFN_MEAN = [0.4488, 0.4371, 0.4040];

export interface ParamSpec {
  name: string;
  shape: number[];
}

/** The 176 parameters in state_dict order (LMFN.md §6), weight before bias. */
export function lmfnParameterSpecs(): ParamSpec[] {
  const specs: ParamSpec[] = [];
  const conv = (name: string, o: number, i: number, k: number) => {
    specs.push({ name: `${name}.weight`, shape: [o, i, k, k] });
    specs.push({ name: `${name}.bias`, shape: [o] });
  };
  conv('encoder.head', 64, 3, 3);
  for (const d of [1, 2, 3, 4]) conv(`encoder.down${d}`, 64, 64, 3);
  const resblocks = ['res4', 'res3a', 'res3b', ...[0, 1, 2, 3, 4].map((j) => `res2.${j}`)];
  for (const r of resblocks) for (const c of [1, 2]) conv(`encoder.${r}.conv${c}`, 64, 64, 3);
  conv('decoder.head', 50, 64, 3);
  for (let i = 0; i < 4; i++) {
    const p = `decoder.rfdb.${i}`;
    for (const s of [1, 2, 3]) {
      conv(`${p}.c${s}_d`, 25, 50, 1);
      conv(`${p}.c${s}_r`, 50, 50, 3);
    }
    conv(`${p}.c4`, 25, 50, 3);
    conv(`${p}.c5`, 50, 100, 1);
    conv(`${p}.esa.conv1`, 12, 50, 1);
    conv(`${p}.esa.conv_f`, 12, 12, 1);
    conv(`${p}.esa.conv_max`, 12, 12, 3);
    conv(`${p}.esa.conv2`, 12, 12, 3);
    conv(`${p}.esa.conv3`, 12, 12, 3);
    conv(`${p}.esa.conv3_`, 12, 12, 3);
    conv(`${p}.esa.conv4`, 50, 12, 1);
  }
  specs.push({ name: 'decoder.alfm.theta', shape: [1] });
  conv('decoder.alfm_fuse', 50, 200, 1);
  specs.push({ name: 'decoder.acfm.alpha', shape: [1] });
  specs.push({ name: 'decoder.acfm.conv1.weight', shape: [1, 1, 1, 3, 3] });
  specs.push({ name: 'decoder.acfm.conv1.bias', shape: [1] });
  specs.push({ name: 'decoder.acfm.conv2.weight', shape: [1, 1, 3, 1, 1] });
  specs.push({ name: 'decoder.acfm.conv2.bias', shape: [1] });
  conv('decoder.fuse', 50, 100, 3);
  conv('decoder.tail', 48, 50, 3);
  return specs;
}


export interface RandomWeightOptions {
  theta?: number;
  alpha?: number;
}

/**
 * Deterministic weights, following LMFN.md §9 in spirit: ResBlock convs are
 * Kaiming-normal ×0.1 with bias 0, everything else U(±1/√fan_in). θ and α are
 * non-zero (default 0.3 / 0.7) so both attention branches are exercised. Values
 * are rounded to float32, so an engine loading them sees exactly the same numbers.
 */
export function lmfnRandomWeights(seed: number, options: RandomWeightOptions = {}): Map<string, Float64Array> {
  const { next } = rng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(Math.max(next(), 1e-12))) * Math.cos(2 * Math.PI * next());
  const weights = new Map<string, Float64Array>();
  const fanIn = new Map<string, number>();
  for (const { name, shape } of lmfnParameterSpecs()) {
    const n = numel(shape);
    const layer = name.slice(0, name.lastIndexOf('.'));
    if (name.endsWith('.weight')) fanIn.set(layer, numel(shape.slice(1)));
    const data = new Float64Array(n);
    if (name === 'decoder.alfm.theta') data[0] = options.theta ?? 0.3;
    else if (name === 'decoder.acfm.alpha') data[0] = options.alpha ?? 0.7;
    else if (/^encoder\.res/.test(name)) {
      const std = Math.sqrt(2 / numel(shape.slice(1)));
      if (name.endsWith('.weight')) for (let i = 0; i < n; i++) data[i] = 0.1 * std * normal();
    } else {
      const bound = 1 / Math.sqrt(fanIn.get(layer)!);
      for (let i = 0; i < n; i++) data[i] = bound * (2 * next() - 1);
    }
    weights.set(name, data.map(Math.fround));
  }
  return weights;
}

/** Called with each layer's output, keyed like the golden activations (module names). */
export type ActivationHook = (name: string, t: T64) => void;

/** Builds the LMFN forward graph on `tape` (LMFN.md §3). */
export function lmfnForward(tape: Tape, P: Map<string, T64>, x: T64, hook: ActivationHook = () => {}): T64 {
  const p = (name: string) => {
    const t = P.get(name);
    if (!t) throw new Error(`lmfn64: missing parameter ${name}`);
    return t;
  };
  const conv = (name: string, input: T64, stride = 1, pad?: number) => {
    const w = p(`${name}.weight`);
    const y = tape.conv2d(input, w, p(`${name}.bias`), stride, pad ?? (w.shape[2] - 1) / 2);
    hook(name, y);
    return y;
  };
  const lrelu = (t: T64, s: number) => tape.leakyRelu(t, s);
  const resblock = (name: string, input: T64) => {
    const y = tape.add(input, conv(`${name}.conv2`, tape.relu(conv(`${name}.conv1`, input))));
    hook(name, y);
    return y;
  };
  const up2 = (t: T64) => tape.resizeBilinear(t, t.shape[2] * 2, t.shape[3] * 2);

  const esa = (name: string, input: T64) => {
    const c1_ = conv(`${name}.conv1`, input);
    const c1 = conv(`${name}.conv2`, c1_, 2, 0);
    let v = tape.maxPool2d(c1, 7, 3);
    v = tape.relu(conv(`${name}.conv_max`, v));
    let c3 = tape.relu(conv(`${name}.conv3`, v));
    c3 = conv(`${name}.conv3_`, c3);
    c3 = tape.resizeBilinear(c3, input.shape[2], input.shape[3]);
    const cf = conv(`${name}.conv_f`, c1_);
    const m = tape.sigmoid(conv(`${name}.conv4`, tape.add(c3, cf)));
    const y = tape.mul(input, m);
    hook(name, y);
    return y;
  };

  const rfdb = (name: string, input: T64) => {
    const act = (t: T64) => lrelu(t, 0.05);
    const d1 = act(conv(`${name}.c1_d`, input));
    const r1 = act(tape.add(conv(`${name}.c1_r`, input), input));
    const d2 = act(conv(`${name}.c2_d`, r1));
    const r2 = act(tape.add(conv(`${name}.c2_r`, r1), r1));
    const d3 = act(conv(`${name}.c3_d`, r2));
    const r3 = act(tape.add(conv(`${name}.c3_r`, r2), r2));
    const r4 = act(conv(`${name}.c4`, r3));
    const y = esa(`${name}.esa`, conv(`${name}.c5`, tape.concatChannels([d1, d2, d3, r4])));
    hook(name, y);
    return y;
  };

  const alfm = (layers: T64[]) => {
    const [B, C, h, w] = layers[0].shape;
    const R = layers.length * C;
    const X = tape.reshape(tape.concatChannels(layers), [B, R, h * w]);
    const E = tape.matmulNT(X, X);
    hook('decoder.alfm.energy', E);
    const A = tape.softmaxNegRows(E);
    const Y = tape.matmulNN(A, X);
    hook('decoder.alfm.apply_attn', Y);
    const out = tape.reshape(tape.add(tape.scale(p('decoder.alfm.theta'), Y), X), [B, R, h, w]);
    hook('decoder.alfm', out);
    return out;
  };

  const acfm = (input: T64) => {
    const [B, C, h, w] = input.shape;
    const v1 = tape.conv3dSpatial(input, p('decoder.acfm.conv1.weight'), p('decoder.acfm.conv1.bias'));
    hook('decoder.acfm.conv1', { ...v1, shape: [B, 1, C, h, w] });
    const v2 = tape.conv3dDepth(v1, p('decoder.acfm.conv2.weight'), p('decoder.acfm.conv2.bias'));
    hook('decoder.acfm.conv2', { ...v2, shape: [B, 1, C, h, w] });
    const gate = tape.sigmoid(v2);
    const out = tape.add(input, tape.scale(p('decoder.acfm.alpha'), tape.mul(gate, input)));
    hook('decoder.acfm', out);
    return out;
  };

  const xs = tape.addChannelConstant(x, LMFN_MEAN.map((m) => -m));
  // ---- encoder (MSHF)
  const f0 = lrelu(conv('encoder.head', xs), 0.1);
  const f1 = lrelu(conv('encoder.down1', f0, 2, 1), 0.1);
  const f2 = lrelu(conv('encoder.down2', f1, 2, 1), 0.1);
  const f3 = lrelu(conv('encoder.down3', f2, 2, 1), 0.1);
  const f4 = lrelu(conv('encoder.down4', f3, 2, 1), 0.1);
  const u4 = up2(resblock('encoder.res4', f4));
  const g3 = tape.add(resblock('encoder.res3a', f3), u4);
  const u3 = up2(resblock('encoder.res3b', g3));
  const g2 = tape.add(resblock('encoder.res2.1', resblock('encoder.res2.0', f2)), u3);
  const e = resblock('encoder.res2.4', resblock('encoder.res2.3', resblock('encoder.res2.2', g2)));
  hook('encoder', e);
  // ---- decoder (MFFD)
  const h = conv('decoder.head', e);
  const o1 = rfdb('decoder.rfdb.0', h);
  const o2 = rfdb('decoder.rfdb.1', o1);
  const o3 = rfdb('decoder.rfdb.2', o2);
  const o4 = rfdb('decoder.rfdb.3', o3);
  const a = lrelu(conv('decoder.alfm_fuse', alfm([o1, o2, o3, o4])), 0.05);
  const c = acfm(o4);
  const y = tape.add(conv('decoder.fuse', tape.concatChannels([a, c])), h);
  const out = tape.pixelShuffle(conv('decoder.tail', y), 4);
  return tape.addChannelConstant(out, LMFN_MEAN);
}

function checkInputs(weights: Map<string, Float64Array>, input: Float64Array, shape: number[]): void {
  check(shape.length === 4 && shape[1] === 3, `input shape [${shape}] must be [N,3,H,W]`);
  check(input.length === numel(shape), `input has ${input.length} values for shape [${shape}]`);
  check(shape[2] % 16 === 0 && shape[3] % 16 === 0 && shape[2] >= 64 && shape[3] >= 64, `input ${shape[2]}x${shape[3]}: H, W must be multiples of 16 and ≥ 64`);
  for (const { name, shape: s } of lmfnParameterSpecs()) {
    const w = weights.get(name);
    check(!!w, `missing parameter ${name}`);
    check(w.length === numel(s), `${name} has ${w.length} values, expected ${numel(s)}`);
  }
}

function buildParams(tape: Tape, weights: Map<string, Float64Array>, withGrad: boolean): Map<string, T64> {
  const P = new Map<string, T64>();
  for (const { name, shape } of lmfnParameterSpecs()) {
    const data = weights.get(name)!;
    P.set(name, withGrad ? tape.variable(data, shape) : tape.constant(data, shape));
  }
  return P;
}

/** LMFN forward in float64: input [N,3,H,W] in [0,1] → output [N,3,H,W]. */
export function lmfnReference(weights: Map<string, Float64Array>, input: Float64Array, shape: [number, number, number, number], hook?: ActivationHook): Float64Array {
  checkInputs(weights, input, shape);
  const tape = new Tape();
  return lmfnForward(tape, buildParams(tape, weights, false), tape.constant(input, shape), hook).data;
}

export interface LmfnGradients {
  output: Float64Array;
  loss: number;
  /** d loss / d parameter, for every parameter name. */
  grads: Map<string, Float64Array>;
  inputGrad: Float64Array;
}

/** loss = mean((out − target)²) (target defaults to zero, i.e. mean(out²)) and all its gradients. */
export function lmfnLossAndGrads(
  weights: Map<string, Float64Array>,
  input: Float64Array,
  shape: [number, number, number, number],
  target?: Float64Array,
  hook?: ActivationHook,
): LmfnGradients {
  checkInputs(weights, input, shape);
  const tape = new Tape();
  const P = buildParams(tape, weights, true);
  const x = tape.variable(input, shape);
  const out = lmfnForward(tape, P, x, hook);
  const loss = tape.mseLoss(out, target);
  tape.backward(loss);
  const grads = new Map<string, Float64Array>();
  for (const [name, t] of P) grads.set(name, t.grad ?? new Float64Array(t.data.length));
  return { output: out.data, loss: loss.data[0], grads, inputGrad: x.grad ?? new Float64Array(input.length) };
}

/**
 * The gradient-check case of tests/lmfn.test.ts and the in-page tests: random weights with
 * θ = 0.3 and α = 0.7 (so ALFM and ACFM take part), a float32-exact 1×3×64×64 input and
 * target, and the reference's output, loss and gradients for them.
 */
export function lmfnGradientCase(): { shape: [number, number, number, number]; weights: Map<string, Float64Array>; input: Float64Array; target: Float64Array; ref: LmfnGradients } {
  const shape: [number, number, number, number] = [1, 3, 64, 64];
  const weights = lmfnRandomWeights(21, { theta: 0.3, alpha: 0.7 });
  const r = rng(5);
  const input = Float64Array.from(r.uniform(3 * 64 * 64, 0, 1), Math.fround);
  const target = Float64Array.from(r.uniform(3 * 64 * 64, 0, 1), Math.fround);
  return { shape, weights, input, target, ref: lmfnLossAndGrads(weights, input, shape, target) };
}
