// kernels/conv2d_tiled.ts (the workgroup-memory implicit-GEMM conv for discrete
// GPUs), called directly on tensors: forward with fused bias and activation,
// input gradient and weight/bias gradients against float64 references, on
// both tile plans, plus its pure choices (plan from limits, split-K).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor } from '../engine/node/index.ts';
import type { Epilogue } from '../kernels/epilogue.ts';
import type { ConvGeometry } from '../kernels/conv2d.ts';
import { kernelFamily } from '../kernels/family.ts';
import { EngineError, type Device } from '../engine/node/index.ts';
import { convTiledForward, convTiledInputGrad, convTiledWeightGrad, convTiledWeightGradSplits, inputGradPhases } from '../kernels/conv2d_tiled.ts';
import { loadsPerInvocation, tilePlan, type TilePlan } from '../kernels/gemm_tiles.ts';
import { asF32, assertClose, maxAbs, rng, testDevice } from './helpers.ts';
import { conv2dInputGradRef, conv2dOutShape, conv2dRef, conv2dWeightGradRef, type Conv2dRefShape } from './ref/conv2d.ts';

const r = rng(31);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

const WEBGPU_MINIMUM = { maxComputeInvocationsPerWorkgroup: 128, maxComputeWorkgroupStorageSize: 16384 };
const SMALL_PLAN = tilePlan(WEBGPU_MINIMUM);

function geometry(s: Conv2dRefShape): ConvGeometry {
  const [batch, inChannels, inH, inW] = s.x;
  const [outChannels, , kernelH, kernelW] = s.w;
  const [, , outH, outW] = conv2dOutShape(s);
  const [strideH, strideW] = s.stride ?? [1, 1];
  const [padH, padW] = s.padding ?? [0, 0];
  return { batch, inChannels, inH, inW, outChannels, outH, outW, kernelH, kernelW, strideH, strideW, padH, padW };
}

const ACTIVATIONS: Record<string, { fused: Pick<Epilogue, 'act' | 'slope'>; ref: (v: number) => number }> = {
  none: { fused: { act: 0, slope: 0 }, ref: (v) => v },
  relu: { fused: { act: 1, slope: 0 }, ref: (v) => Math.max(v, 0) },
  leaky: { fused: { act: 2, slope: 0.1 }, ref: (v) => (v > 0 ? v : 0.1 * v) },
  sigmoid: { fused: { act: 3, slope: 0 }, ref: (v) => 1 / (1 + Math.exp(-v)) },
};

interface Case extends Conv2dRefShape {
  name: string;
  bias: boolean;
  activation: keyof typeof ACTIVATIONS;
  /** Also fuse a residual add (before the activation). */
  residual?: boolean;
}

const cases: Case[] = [
  { name: '3×3 s1 p1, 13×17, 3→5', x: [1, 3, 13, 17], w: [5, 3, 3, 3], padding: [1, 1], bias: true, activation: 'relu', residual: true },
  { name: '3×3 s2 p1, 13×17, N=3, 5→25', x: [3, 5, 13, 17], w: [25, 5, 3, 3], stride: [2, 2], padding: [1, 1], bias: true, activation: 'leaky' },
  { name: '3×3 s1 p1, 9×8 N=3, 50→50', x: [3, 50, 9, 8], w: [50, 50, 3, 3], padding: [1, 1], bias: true, activation: 'sigmoid' },
  { name: '3×3 s2 p1, 9×8 64→50, no bias', x: [1, 64, 9, 8], w: [50, 64, 3, 3], stride: [2, 2], padding: [1, 1], bias: false, activation: 'none' },
  { name: '3×3 s1 p1, 13×17, N=3, 64→50', x: [3, 64, 13, 17], w: [50, 64, 3, 3], padding: [1, 1], bias: true, activation: 'none' },
  { name: '3×3 s1 p1, 70 outputs (two M tiles), 25 inputs', x: [1, 25, 9, 8], w: [70, 25, 3, 3], padding: [1, 1], bias: true, activation: 'leaky', residual: true },
  { name: '1×1, 13×17, N=3, 25→3', x: [3, 25, 13, 17], w: [3, 25, 1, 1], bias: true, activation: 'leaky' },
  { name: '1×1, 9×8 5→64, no bias', x: [1, 5, 9, 8], w: [64, 5, 1, 1], bias: false, activation: 'sigmoid' },
  { name: '7×7 s3 p2, 13×17, N=3, 3→5', x: [3, 3, 13, 17], w: [5, 3, 7, 7], stride: [3, 3], padding: [2, 2], bias: true, activation: 'none' },
  { name: '3×5 kernel, stride [2,1], padding [0,2], 5→9', x: [1, 5, 9, 8], w: [9, 5, 3, 5], stride: [2, 1], padding: [0, 2], bias: true, activation: 'relu' },
  { name: '3×5 kernel, stride [2,1], padding [0,2], N=3, 3→5, no bias', x: [3, 3, 13, 17], w: [5, 3, 3, 5], stride: [2, 1], padding: [0, 2], bias: false, activation: 'leaky' },
  { name: '3×3 s2 p0 (ESA), odd sizes, 50→50', x: [1, 50, 13, 17], w: [50, 50, 3, 3], stride: [2, 2], bias: true, activation: 'sigmoid' },
  // Input-gradient phases without taps: their dx pixels must be written as zeros.
  { name: '1×1 s2, 9×8, N=2, 3→4', x: [2, 3, 9, 8], w: [4, 3, 1, 1], stride: [2, 2], bias: true, activation: 'none' },
  { name: '2×2 s3 p1, 10×11, 3→5', x: [1, 3, 10, 11], w: [5, 3, 2, 2], stride: [3, 3], padding: [1, 1], bias: false, activation: 'relu' },
  { name: '1-pixel input, 3×3 p1', x: [2, 3, 1, 1], w: [5, 3, 3, 3], padding: [1, 1], bias: true, activation: 'relu' },
  // Weight gradient with K = 2·64·64 = 8192 split into many slices.
  { name: 'split-K weight gradient, 2×16×64×64, 16→16', x: [2, 16, 64, 64], w: [16, 16, 3, 3], padding: [1, 1], bias: true, activation: 'relu' },
  // LMFN's 1/4 scale of 720×1280: K = 57,600 in 112 slices.
  { name: 'split-K weight gradient at 180×320, 2→3', x: [1, 2, 180, 320], w: [3, 2, 3, 3], padding: [1, 1], bias: true, activation: 'none' },
];

const GRADIENT_TOLERANCE = (expected: Float64Array) => ({ rtol: 1e-3, atol: 1e-4 * Math.max(1, maxAbs(expected)) });

async function check(c: Case, plan: TilePlan | undefined): Promise<void> {
  const device = await testDevice();
  const g = geometry(c);
  const yShape = conv2dOutShape(c);
  const x64 = asF32(r.uniform(size(c.x)));
  const w64 = asF32(r.uniform(size(c.w)));
  const b64 = c.bias ? asF32(r.uniform(c.w[0])) : null;
  const dy64 = asF32(r.uniform(size(yShape)));
  const res64 = c.residual ? asF32(r.uniform(size(yShape))) : null;
  const x = Tensor.fromData(device, Float32Array.from(x64), c.x);
  const w = Tensor.fromData(device, Float32Array.from(w64), c.w);
  const b = b64 ? Tensor.fromData(device, Float32Array.from(b64), [c.w[0]]) : null;
  const dy = Tensor.fromData(device, Float32Array.from(dy64), yShape);
  const residual = res64 ? Tensor.fromData(device, Float32Array.from(res64), yShape) : null;
  // Outputs start as NaN, so an element a kernel fails to write cannot pass as a zero.
  const nan = (shape: number[]) => Tensor.fromData(device, new Float32Array(size(shape)).fill(NaN), shape);
  const y = nan(yShape);
  const dx = nan(c.x);
  const dw = nan(c.w);
  const db = c.bias ? nan([c.w[0]]) : null;
  const activation = ACTIVATIONS[c.activation];
  convTiledForward(x, w, b, y, g, { ...activation.fused, residual }, plan);
  convTiledInputGrad(dy, w, dx, g, plan);
  convTiledWeightGrad(dy, x, dw, db, g, plan);

  const z = conv2dRef(c, x64, w64, b64).map((v, i) => v + (res64 ? res64[i] : 0));
  assertClose(await y.read(), z.map(activation.ref), `forward (${c.activation}${res64 ? ', residual' : ''})`);
  const dxRef = conv2dInputGradRef(c, dy64, w64);
  assertClose(await dx.read(), dxRef, 'input gradient', GRADIENT_TOLERANCE(dxRef));
  const { dw: dwRef, db: dbRef } = conv2dWeightGradRef(c, dy64, x64);
  assertClose(await dw.read(), dwRef, 'weight gradient', GRADIENT_TOLERANCE(dwRef));
  if (db) assertClose(await db.read(), dbRef, 'bias gradient', GRADIENT_TOLERANCE(dbRef));
  [x, w, b, dy, residual, y, dx, dw, db].forEach((t) => t?.dispose());
}

for (const c of cases) {
  test(`conv_tiled ${c.name}: x ${JSON.stringify(c.x)} w ${JSON.stringify(c.w)}`, () => check(c, undefined));
}

// The 128-invocation plan (32×128 tiles, 16 B loads per invocation) on a few of the same shapes.
for (const c of [cases[1], cases[4], cases[9], cases[13]]) {
  test(`conv_tiled, WebGPU-minimum plan: ${c.name}`, () => check(c, SMALL_PLAN));
}

test('gemm tile plan: 64×128 tiles where 256 invocations fit, 32×128 at the WebGPU minimum, an error below it', () => {
  const llvmpipe = tilePlan({ maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupStorageSize: 32768 });
  assert.equal([llvmpipe.workgroup, llvmpipe.tileM, llvmpipe.tileN, llvmpipe.tileK], [[16, 16], 64, 128, 16]);
  assert.equal(tilePlan({ maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupStorageSize: 16384 }), llvmpipe);
  assert.equal([SMALL_PLAN.workgroup, SMALL_PLAN.tileM, SMALL_PLAN.tileN], [[16, 8], 32, 128]);
  assert.equal(tilePlan({ limits: WEBGPU_MINIMUM }), SMALL_PLAN);
  for (const p of [llvmpipe, SMALL_PLAN]) {
    if (p.workgroupStorage > WEBGPU_MINIMUM.maxComputeWorkgroupStorageSize) throw new Error(`plan ${JSON.stringify(p)} exceeds 16 KiB`);
    const { aVec4s, bLoads } = loadsPerInvocation(p);
    if (!Number.isInteger(aVec4s) || !Number.isInteger(bLoads)) throw new Error(`plan ${JSON.stringify(p)}: uneven loads ${aVec4s}, ${bLoads}`);
  }
  assert.throws(() => tilePlan({ maxComputeInvocationsPerWorkgroup: 64, maxComputeWorkgroupStorageSize: 16384 }), /no tile fits/);
});

test('conv_tiled weight-gradient splits: cover K once, whole slices, fill an H100 at 720p without short slices', () => {
  for (const [k, tiles] of [[1, 1], [15, 3], [512, 1], [8192, 1], [57_600, 4], [230_400, 5], [921_600, 5], [100_000, 2000]]) {
    const { splits, chunk } = convTiledWeightGradSplits(k, tiles, 16);
    if (splits < 1 || chunk % 16 !== 0 || splits * chunk < k || (splits - 1) * chunk >= k) throw new Error(`bad split of K ${k}: ${splits} × ${chunk}`);
    if (splits > 1 && chunk < 512) throw new Error(`K ${k}: slices of ${chunk} are too short`);
  }
  // LMFN's 3×3 64→64 at 720×1280 stride 2: 5 tiles of C, K = 360·640.
  const { splits } = convTiledWeightGradSplits(360 * 640, 5, 16);
  if (splits * 5 < 132 * 2) throw new Error(`only ${splits * 5} workgroups for an H100's 132 SMs`);
  assert.equal(convTiledWeightGradSplits(300, 5, 16).splits, 1);
  // The split-K test case above: K = 2·64·64 over 2 tiles of C (16 outputs × 144 columns).
  assert.equal(convTiledWeightGradSplits(2 * 64 * 64, 2, 16), { splits: 16, chunk: 512 });
});

test('conv_tiled input-gradient phases: every dx pixel in exactly one phase, every tap in exactly one', () => {
  const shapes: Conv2dRefShape[] = [
    { x: [1, 1, 13, 17], w: [1, 1, 3, 3], padding: [1, 1] },
    { x: [1, 1, 13, 17], w: [1, 1, 3, 3], stride: [2, 2], padding: [1, 1] },
    { x: [1, 1, 13, 17], w: [1, 1, 7, 7], stride: [3, 3], padding: [2, 2] },
    { x: [1, 1, 9, 8], w: [1, 1, 1, 1], stride: [2, 2] },
    { x: [1, 1, 10, 11], w: [1, 1, 2, 2], stride: [3, 3], padding: [1, 1] },
    { x: [1, 1, 9, 8], w: [1, 1, 3, 5], stride: [2, 1], padding: [0, 2] },
    { x: [1, 1, 2, 2], w: [1, 1, 1, 1], stride: [4, 4] },
  ];
  for (const s of shapes) {
    const g = geometry(s);
    const phases = inputGradPhases(g);
    const seen = new Uint8Array(g.inH * g.inW);
    const taps = new Set<string>();
    for (const p of phases) {
      for (let jh = 0; jh < p.hp; jh++) for (let jw = 0; jw < p.wp; jw++) seen[(p.h0 + g.strideH * jh) * g.inW + p.w0 + g.strideW * jw]++;
      for (let iy = 0; iy < p.kh; iy++) for (let ix = 0; ix < p.kw; ix++) taps.add(`${p.ry + g.strideH * iy},${p.rx + g.strideW * ix}`);
      // Every tap of the phase reaches its pixels with an exact division.
      if ((p.h0 + g.padH - p.ry) % g.strideH || (p.w0 + g.padW - p.rx) % g.strideW) throw new Error(`phase ${JSON.stringify(p)} is not exact`);
    }
    if (!seen.every((v) => v === 1)) throw new Error(`${JSON.stringify(s)}: pixels covered ${[...seen]}`);
    // Taps in a phase without pixels reach no dx pixel; all the others are in exactly one phase.
    const used = phases.reduce((sum, p) => sum + p.kh * p.kw, 0);
    if (used !== taps.size || [...taps].some((t) => t.split(',').some((v, i) => +v >= (i ? g.kernelW : g.kernelH)))) {
      throw new Error(`${JSON.stringify(s)}: taps ${[...taps]}`);
    }
  }
  assert.equal(inputGradPhases(geometry({ x: [1, 1, 13, 17], w: [1, 1, 3, 3], padding: [1, 1] })).length, 1);
  assert.equal(inputGradPhases(geometry({ x: [1, 1, 13, 17], w: [1, 1, 3, 3], stride: [2, 2], padding: [1, 1] })).map((p) => p.kh * p.kw), [4, 2, 2, 1]);
});

test('kernel family: tiled on GPUs, direct on Mesa 22 llvmpipe only, WGRAD_KERNELS overrides, a bad value is an error', () => {
  const adapters = {
    gpu: { kind: 'gpu', implementation: 'nvidia', description: 'NVIDIA: 550.54' },
    cpu: { kind: 'cpu', implementation: 'llvmpipe', description: 'OpenGL version OpenGL ES 3.2 Mesa 22.3.6' },
    glMesa25: { kind: 'cpu', implementation: 'llvmpipe', description: 'OpenGL version OpenGL ES 3.2 Mesa 25.0.7-2' },
    lavapipe22: { kind: 'cpu', implementation: 'lavapipe', description: 'llvmpipe: Mesa 23.3.1 (LLVM 15.0.6)' },
    lavapipe25: { kind: 'cpu', implementation: 'lavapipe', description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1' },
    swiftshader: { kind: 'cpu', implementation: 'swiftshader', description: 'SwiftShader driver 5.0.0' },
  } as const;
  const fake = (name: keyof typeof adapters) => ({ description: adapters[name] }) as unknown as Device;
  const saved = process.env.WGRAD_KERNELS;
  try {
    delete process.env.WGRAD_KERNELS;
    assert.equal(
      (Object.keys(adapters) as (keyof typeof adapters)[]).map((n) => kernelFamily(fake(n))),
      ['tiled', 'direct', 'tiled', 'direct', 'tiled', 'tiled'],
    );
    process.env.WGRAD_KERNELS = 'Tiled';
    assert.equal(kernelFamily(fake('cpu')), 'tiled');
    process.env.WGRAD_KERNELS = 'direct';
    assert.equal(kernelFamily(fake('gpu')), 'direct');
    // SwiftShader's compiler cannot take the direct conv: refused with the reason, not killed for memory later.
    assert.throws(() => kernelFamily(fake('swiftshader')), (e: Error) => e instanceof EngineError && /SwiftShader's shader compiler runs out of memory .*use tiled/.test(e.message));
    process.env.WGRAD_KERNELS = 'fast';
    assert.throws(() => kernelFamily(fake('gpu')), (e: Error) => e instanceof EngineError && /WGRAD_KERNELS must be 'auto', 'tiled' or 'direct', got 'fast'/.test(e.message));
  } finally {
    if (saved === undefined) delete process.env.WGRAD_KERNELS;
    else process.env.WGRAD_KERNELS = saved;
  }
});

test.run();
