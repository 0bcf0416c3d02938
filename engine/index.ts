// The engine's public API on any host: everything public, and nothing that
// touches the host (no Node module, no `process`, no `navigator`). The entry
// points re-export it after installing their host: engine/node/index.ts for
// Node (adds safetensors files and atomic writes), engine/browser/index.ts for
// a page.
// model/ imports this file, so the model runs wherever the engine does.

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
export { Kernel, launch, precompile, groups1d, splitReduction, f32bits, wgsl, type KernelSpec, type Launch, type BufferRange } from './kernel.ts';
export type { MemoryStats } from './pool.ts';
export { Module, tidyInInference } from './nn/module.ts';
export { Conv2d, Conv3d, type Conv2dOptions } from './nn/conv.ts';
export { ModuleList } from './nn/container.ts';
export * as initializers from './nn/init.ts';
export { Random } from './random.ts';
export { Adam, type AdamOptions, type AdamState } from './optim/adam.ts';
export {
  parseSafetensors, readSafetensorsFrom, serializeSafetensors, safetensorsChunks, SafetensorsError,
  type ByteSource, type SafetensorsFile, type SafetensorsTensor, type TensorsToWrite,
} from './safetensors.ts';
export * from './errors.ts';
export { setHost, type Host, type AdapterSource } from './host.ts';
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
