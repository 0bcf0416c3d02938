// Kernels are data: a WGSL source file per family, and for each entry point a
// `Kernel` that states its storage bindings, its workgroup size and its
// specialisation constants once. `launch` records one dispatch into the
// device's open compute pass; it never submits, reads back or awaits.
//
// Binding convention shared by every WGSL file in kernels/: storage buffers at
// @binding(0..n-1) of @group(0) in the order of `bindings`, then the uniform
// parameter struct at @binding(n). Workgroup sizes come in as the override
// constants WG_X, WG_Y, WG_Z (declared in kernels/prelude.wgsl) so another
// tile shape needs no new source.

import type { Device } from './device.ts';
import { EngineError, KernelError } from './errors.ts';
import { host } from './host.ts';
import type { PooledBuffer } from './pool.ts';
import { INLINED_WGSL } from './wgsl-sources.ts';

export type Access = 'read' | 'write' | 'readwrite';

export interface KernelSpec {
  /** 'family.entry', e.g. 'conv2d.forward'; names the kernel in errors. */
  name: string;
  /** WGSL source text of the family, or a function that gives it when the pipeline is first built (`wgsl()`). */
  source: string | (() => string);
  entryPoint: string;
  /** Storage bindings in @binding order. */
  bindings: readonly Access[];
  /** Whether the kernel takes a uniform parameter struct (after the storage bindings). */
  params: boolean;
  workgroupSize: readonly [number, number?, number?];
  /** Other override constants (specialisation: fused activation, transposes, tile shape). */
  constants?: Readonly<Record<string, number>>;
}

export class Kernel {
  readonly key: string;
  constructor(readonly spec: KernelSpec) {
    this.key = `${spec.name}|${JSON.stringify(spec.constants ?? {})}|${spec.workgroupSize.join('x')}`;
  }
  /** The WGSL source (`wgsl()` puts a family's together once, on first use). */
  get source(): string {
    return typeof this.spec.source === 'string' ? this.spec.source : this.spec.source();
  }
  get invocations(): number {
    const [x, y = 1, z = 1] = this.spec.workgroupSize;
    return x * y * z;
  }
  private variants?: Map<string, Kernel>;
  /**
   * The same entry point with other constants or workgroup size. Memoised:
   * launchers call this per launch, and a Kernel's key is built once.
   */
  with(changes: Partial<Pick<KernelSpec, 'constants' | 'workgroupSize'>>): Kernel {
    let id = changes.workgroupSize ? changes.workgroupSize.join('x') : '';
    if (changes.constants) for (const name in changes.constants) id += `|${name}=${changes.constants[name]}`;
    this.variants ??= new Map();
    let kernel = this.variants.get(id);
    if (!kernel) {
      kernel = new Kernel({ ...this.spec, ...changes, constants: { ...this.spec.constants, ...changes.constants } });
      this.variants.set(id, kernel);
    }
    return kernel;
  }
}

const assembled = new Map<string, string>();

function kernelFile(file: string): string {
  const inlined = INLINED_WGSL[file];
  if (inlined !== undefined) return inlined;
  if (Object.keys(INLINED_WGSL).length) throw new EngineError(`kernels/${file} is not among the WGSL sources this build inlined`);
  return host().readKernelSource(file);
}

/**
 * The WGSL source of a kernel family, as a function for `KernelSpec.source`:
 * kernels/prelude.wgsl (the workgroup-size overrides and `linear_index`), then
 * the named fragments shared between families (e.g. 'epilogue.wgsl'), then the
 * family's own file, all files of kernels/: `wgsl('conv2d.wgsl', 'epilogue.wgsl')`.
 * WGSL has no includes; this is the one place sources are put together. Nothing
 * is read until a pipeline is built, so importing a launcher needs no host.
 *
 * The older form `wgsl(import.meta.url, 'file.wgsl', ...)` still works (its
 * module URL is ignored: every source is in kernels/) and is deprecated.
 */
export function wgsl(file: string, ...fragments: string[]): () => string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(file)) [file, ...fragments] = fragments;
  const key = [file, ...fragments].join('+');
  return () => {
    let text = assembled.get(key);
    if (text === undefined) {
      text = ['prelude.wgsl', ...fragments, file].map(kernelFile).join('\n');
      assembled.set(key, text);
    }
    return text;
  };
}

/** A range of a pooled buffer bound to one binding. */
export interface BufferRange {
  buf: PooledBuffer;
  /** Bytes; must be a multiple of the device's minStorageBufferOffsetAlignment. */
  offset: number;
  /** Bytes. */
  size: number;
}

/**
 * What a launcher takes for each array it binds: a float32 range of a pooled
 * buffer with its logical shape. Tensors are operands, and so is `scratch`;
 * launchers know nothing else of tensors (no autograd, no ops, no scopes).
 */
export interface Operand {
  readonly device: Device;
  readonly shape: readonly number[];
  /** Elements. */
  readonly size: number;
  /** The bound range; throws if the operand was freed. */
  range(): BufferRange;
}

/** A launcher's intermediate array (split-reduction partials, repacked weights), straight from the pool. */
export class Scratch implements Operand {
  readonly size: number;
  private buf: PooledBuffer | null;
  constructor(readonly device: Device, readonly shape: readonly number[]) {
    this.size = shape.reduce((n, d) => n * d, 1);
    this.buf = device.pool.acquire(this.size * 4);
  }
  range(): BufferRange {
    if (!this.buf) throw new KernelError(`scratch [${this.shape.join(',')}] used after release()`);
    return { buf: this.buf, offset: 0, size: this.size * 4 };
  }
  /**
   * Back to the pool once its last use is recorded: work recorded later that
   * reuses the buffer runs after it on the one queue (see pool.ts).
   */
  release(): void {
    if (this.buf) this.device.pool.release(this.buf);
    this.buf = null;
  }
}

export interface Launch {
  buffers: readonly BufferRange[];
  /** Raw 32-bit words of the parameter struct; write floats with `f32bits`. */
  params?: ArrayLike<number>;
  /** Workgroup counts. Each must be ≤ maxComputeWorkgroupsPerDimension; see `groups1d`. */
  groups: readonly [number, number?, number?];
}

const f32scratch = new Float32Array(1);
const u32scratch = new Uint32Array(f32scratch.buffer);
/** The bit pattern of a float, for a parameter struct field declared f32. */
export function f32bits(x: number): number {
  f32scratch[0] = x;
  return u32scratch[0];
}

/** WebGPU's default maxComputeWorkgroupsPerDimension, which every adapter allows; plans stay within it. */
export const MAX_WORKGROUPS_PER_DIMENSION = 65535;

/**
 * Workgroup counts for `n` items handled `perGroup` at a time, folded into
 * two dimensions when above the 65,535 per-dimension limit. Kernels recover
 * the linear workgroup index as `wid.x + wid.y * nwg.x`.
 */
export function groups1d(n: number, perGroup: number, maxPerDim = MAX_WORKGROUPS_PER_DIMENSION): [number, number] {
  const g = Math.max(1, Math.ceil(n / perGroup));
  if (g <= maxPerDim) return [g, 1];
  const y = Math.ceil(g / maxPerDim);
  return [Math.ceil(g / y), y];
}

/**
 * How a reduction of length `k` is split into slices, each summed by its own
 * `workgroups` workgroups (or invocations), aiming at `target` of them in all
 * (no split when `workgroups` is 0 or already meets it): no slice shorter than
 * `minChunk`, at most `maxSplits` slices of `chunk` each, a multiple of
 * `multiple`; the last may be shorter, none is empty. Pure.
 */
export function splitReduction(
  k: number,
  o: { workgroups: number; target: number; minChunk: number; multiple?: number; maxSplits?: number },
): { splits: number; chunk: number } {
  const multiple = o.multiple ?? 1;
  const wanted = o.workgroups > 0 ? Math.ceil(o.target / o.workgroups) : 1;
  const splits = Math.max(1, Math.min(wanted, Math.floor(k / o.minChunk), o.maxSplits ?? Infinity));
  const chunk = Math.max(multiple, multiple * Math.ceil(k / splits / multiple));
  // Rounding the chunk up can leave trailing slices empty: recount.
  return { splits: Math.max(1, Math.ceil(k / chunk)), chunk };
}

type PipelineEntry = { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout };

/** The bind-group layout and pipeline descriptor of a kernel on a device: bindings as the spec states them. */
function pipelineDescriptor(device: Device, kernel: Kernel): { layout: GPUBindGroupLayout; descriptor: GPUComputePipelineDescriptor } {
  const { spec } = kernel;
  const gpu = device.gpu;
  const entries: GPUBindGroupLayoutEntry[] = spec.bindings.map((access, binding) => ({
    binding,
    visibility: GPUShaderStage.COMPUTE,
    buffer: { type: access === 'read' ? 'read-only-storage' : 'storage' },
  }));
  if (spec.params) {
    entries.push({ binding: spec.bindings.length, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } });
  }
  const [x, y = 1, z = 1] = spec.workgroupSize;
  if (x * y * z > device.limits.maxComputeInvocationsPerWorkgroup) {
    throw new KernelError(
      `${spec.name}: workgroup ${x}x${y}x${z} exceeds this adapter's ${device.limits.maxComputeInvocationsPerWorkgroup} invocations`,
    );
  }
  const module = gpu.createShaderModule({ code: kernel.source, label: spec.name });
  const layout = gpu.createBindGroupLayout({ entries, label: spec.name });
  const descriptor: GPUComputePipelineDescriptor = {
    label: spec.name,
    layout: gpu.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: { module, entryPoint: spec.entryPoint, constants: { WG_X: x, WG_Y: y, WG_Z: z, ...spec.constants } },
  };
  return { layout, descriptor };
}

const buildFailed = (spec: KernelSpec, message: string) => new KernelError(`kernel ${spec.name} (entry point ${spec.entryPoint}) failed to build:\n${message}`);

function pipelineFor(device: Device, kernel: Kernel): PipelineEntry {
  let entry = device.pipelines.get(kernel.key);
  if (entry) return entry;
  const { spec } = kernel;
  const gpu = device.gpu;
  gpu.pushErrorScope('validation');
  const started = device.pipelineLog ? performance.now() : 0;
  const { layout, descriptor } = pipelineDescriptor(device, kernel);
  const pipeline = gpu.createComputePipeline(descriptor);
  gpu.popErrorScope().then((err) => {
    if (err) device.reportError(buildFailed(spec, err.message));
  });
  device.pipelineLog?.push({ key: kernel.key, pipeline, createMs: performance.now() - started });
  entry = { pipeline, layout };
  device.pipelines.set(kernel.key, entry);
  return entry;
}

/**
 * Builds, all at once and off the critical path, every pipeline that `record`
 * would launch: `record` runs once with launches recording nothing (its
 * results are garbage, and are the caller's to dispose: run it under `tidy`),
 * then the pipelines it named are created with createComputePipelineAsync,
 * which lets the implementation compile them in parallel on its own threads
 * instead of one after another as the first dispatches are recorded. Resolves
 * with how many were built. Where compiling happens at first dispatch anyway
 * (Mesa's llvmpipe), it changes nothing.
 */
export async function precompile(device: Device, record: () => void): Promise<number> {
  const wanted = new Map<string, object>();
  device.collecting = wanted;
  try {
    record();
  } finally {
    device.collecting = null;
  }
  const missing = [...wanted].filter(([key]) => !device.pipelines.has(key)).map(([, k]) => k as Kernel);
  await Promise.all(
    missing.map(async (kernel) => {
      const { layout, descriptor } = pipelineDescriptor(device, kernel);
      try {
        const pipeline = await device.gpu.createComputePipelineAsync(descriptor);
        if (!device.pipelines.has(kernel.key)) device.pipelines.set(kernel.key, { pipeline, layout });
      } catch (e) {
        device.reportError(buildFailed(kernel.spec, (e as Error).message));
      }
    }),
  );
  device.throwIfFailed();
  return missing.length;
}

const MAX_CACHED = 8192;

// Small numeric ids for the bind-group cache key (a launch builds one per
// dispatch; short keys hash fast), and the limits a launch checks, read once
// per device rather than through the adapter's getters every launch.
let nextId = 1;
const layoutIds = new WeakMap<GPUBindGroupLayout, number>();
const uniformIds = new WeakMap<GPUBuffer, number>();
const launchLimits = new WeakMap<Device, { maxGroups: number; maxBinding: number }>();

function idOf<K extends object>(ids: WeakMap<K, number>, key: K): number {
  let id = ids.get(key);
  if (id === undefined) ids.set(key, (id = nextId++));
  return id;
}

function uniformFor(device: Device, params: ArrayLike<number>): GPUBuffer {
  let key = '';
  for (let i = 0; i < params.length; i++) key += `${params[i] >>> 0},`;
  let buf = device.uniforms.get(key);
  if (!buf) {
    if (device.uniforms.size >= MAX_CACHED) {
      // Bounded cache: pending work may still read these, so submit before destroying.
      device.flush();
      for (const b of device.uniforms.values()) b.destroy();
      device.uniforms.clear();
      device.bindGroups.clear();
    }
    const words = Array.from(params, (v) => v >>> 0);
    const size = Math.max(16, Math.ceil(words.length / 4) * 16);
    buf = device.gpu.createBuffer({ size, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
    new Uint32Array(buf.getMappedRange()).set(words);
    buf.unmap();
    device.uniforms.set(key, buf);
  }
  return buf;
}

/** Records one dispatch of `kernel`. Throws a KernelError, naming the kernel, on a bad launch. */
export function launch(device: Device, kernel: Kernel, args: Launch): void {
  const { spec } = kernel;
  if (args.buffers.length !== spec.bindings.length) {
    throw new KernelError(`${spec.name}: expects ${spec.bindings.length} buffers, got ${args.buffers.length}`);
  }
  if (spec.params !== (args.params !== undefined)) {
    throw new KernelError(`${spec.name}: ${spec.params ? 'needs' : 'takes no'} parameters`);
  }
  let limits = launchLimits.get(device);
  if (!limits) {
    limits = { maxGroups: device.limits.maxComputeWorkgroupsPerDimension, maxBinding: device.limits.maxStorageBufferBindingSize };
    launchLimits.set(device, limits);
  }
  const { maxGroups, maxBinding } = limits;
  const [gx, gy = 1, gz = 1] = args.groups;
  if (gx > maxGroups || gy > maxGroups || gz > maxGroups) {
    throw new KernelError(`${spec.name}: dispatch ${gx}x${gy}x${gz} exceeds ${maxGroups} workgroups per dimension`);
  }
  if (gx === 0 || gy === 0 || gz === 0) return;
  if (device.collecting) {
    device.collecting.set(kernel.key, kernel);
    return;
  }
  const { pipeline, layout } = pipelineFor(device, kernel);
  let key = `${idOf(layoutIds, layout)}`;
  const entries: GPUBindGroupEntry[] = [];
  args.buffers.forEach((r, binding) => {
    if (r.size > maxBinding) {
      throw new KernelError(
        `${spec.name}: binding ${binding} is ${r.size} bytes, above this adapter's ${maxBinding}-byte storage binding limit ` +
          `(split the work, e.g. run the image in tiles)`,
      );
    }
    const size = Math.max(4, r.size);
    entries.push({ binding, resource: { buffer: r.buf.buffer, offset: r.offset, size } });
    r.buf.lastUse = device.epoch;
    key += `|${r.buf.id}@${r.offset}+${size}`;
  });
  if (args.params) {
    const u = uniformFor(device, args.params);
    entries.push({ binding: spec.bindings.length, resource: { buffer: u } });
    key += `|u${idOf(uniformIds, u)}`;
  }
  let bindGroup = device.bindGroups.get(key);
  if (!bindGroup) {
    if (device.bindGroups.size >= MAX_CACHED) device.bindGroups.clear();
    bindGroup = device.gpu.createBindGroup({ layout, entries, label: spec.name });
    device.bindGroups.set(key, bindGroup);
  }
  const pass = device.pass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(gx, gy, gz);
  device.dispatchCount++;
  device.capture?.push({ kernel: spec.name, pipeline, bindGroup, groups: [gx, gy, gz] });
}
