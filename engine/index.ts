// wgrad: a small WebGPU tensor engine with reverse-mode autograd.
//
//   import { init, tensor, ops, tidy } from 'lmfn-webgpu';
//   const device = await init();                 // best adapter; WGRAD_ADAPTER=gpu|cpu|gl|lavapipe|… picks one
//   const x = tensor([1, 2, 3, 4], [2, 2]).requireGrad();
//   const loss = ops.sum(ops.mul(x, x));
//   loss.backward();
//   console.log(await x.grad!.read());           // [2, 4, 6, 8]
//
// Everything public is exported from this file.

import { Device, type DeviceOptions } from './device.ts';
import { EngineError } from './errors.ts';
import { Tensor } from './tensor.ts';
import * as elementwise from './ops/elementwise.ts';
import * as reduce from './ops/reduce.ts';
import * as conv2d from './ops/conv2d.ts';
import * as conv3d from './ops/conv3d.ts';
import * as matmul from './ops/matmul.ts';
import * as softmax from './ops/softmax.ts';
import * as pixelShuffle from './ops/pixel_shuffle.ts';
import * as interpolate from './ops/interpolate.ts';
import * as maxPool2d from './ops/max_pool2d.ts';
import * as pad from './ops/pad.ts';
import * as cat from './ops/cat.ts';
import * as mseLoss from './ops/mse_loss.ts';

export { Device, getDevice, raisedLimits, type AdapterChoice, type AdapterDescription, type DeviceOptions, type RecordedDispatch } from './device.ts';
export { ADAPTER_CHOICES, identifyAdapter, type AdapterIdentity, type Backend } from './adapters.ts';
export { Tensor, sizeOf } from './tensor.ts';
export { tidy } from './scope.ts';
export { noGrad, isGradEnabled, record, type GradFn } from './autograd.ts';
export { Kernel, launch, groups1d, splitReduction, f32bits, wgsl, type KernelSpec, type Launch, type BufferRange } from './kernel.ts';
export type { MemoryStats } from './pool.ts';
export { Module, tidyInInference } from './nn/module.ts';
export { Conv2d, Conv3d, type Conv2dOptions } from './nn/conv.ts';
export { ModuleList } from './nn/container.ts';
export * as initializers from './nn/init.ts';
export { Random } from './random.ts';
export { Adam, type AdamOptions, type AdamState } from './optim/adam.ts';
export {
  readSafetensors, parseSafetensors, writeSafetensors, serializeSafetensors, SafetensorsError,
  type SafetensorsFile, type SafetensorsTensor,
} from './safetensors.ts';
export * from './errors.ts';
export { writeFileAtomic } from './atomic-write.ts';
export { FAMILY_KERNELS, kernelFamily, useKernelFamily, type KernelFamily } from '../kernels/family.ts';

/** All differentiable ops, PyTorch-style functional API (`ops.conv2d`, `ops.add`, …). */
export const ops = {
  ...elementwise, ...reduce, ...conv2d, ...conv3d, ...matmul, ...softmax, ...pixelShuffle, ...interpolate, ...maxPool2d, ...pad, ...cat, ...mseLoss,
};

let current: Device | null = null;

/** Creates the default device (once) and makes it current. */
export async function init(options?: DeviceOptions): Promise<Device> {
  current ??= await Device.create(options);
  return current;
}

/** Makes `device` the one that `tensor()` and friends use by default. */
export function setDevice(device: Device): void {
  current = device;
}

export function currentDevice(): Device {
  if (!current) throw new EngineError('no device: call `await init()` first (or pass { device })');
  return current;
}

/** A tensor from values (row-major) on the current device, or `options.device`. */
export function tensor(data: ArrayLike<number>, shape?: readonly number[], options: { device?: Device; requiresGrad?: boolean } = {}): Tensor {
  const t = Tensor.fromData(options.device ?? currentDevice(), data, shape);
  if (options.requiresGrad) t.requireGrad();
  return t;
}
