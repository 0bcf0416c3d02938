// The GPU device: adapter choice, the one open command encoder that a whole
// training step is recorded into, uploads, readback, and GPU errors.
//
// Work is never submitted per op. Kernels are recorded into a single compute
// pass of a single encoder; `flush()` submits it, and only `read()`/`sync()`
// (the points where a caller awaits anyway) call `flush()`.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BufferPool, type MemoryStats, type PooledBuffer } from './pool.ts';
import { DeviceLostError, EngineError, KernelError } from './errors.ts';

/** 'gpu': a core adapter (Vulkan, Metal, D3D12). 'cpu': Dawn's OpenGL ES backend on Mesa llvmpipe in compatibility mode. 'auto': gpu, else cpu. */
export type AdapterChoice = 'auto' | 'gpu' | 'cpu';

export interface DeviceOptions {
  /** Overrides the WGRAD_ADAPTER environment variable; default 'auto'. */
  adapter?: AdapterChoice;
}

export interface AdapterDescription {
  kind: 'gpu' | 'cpu';
  /** 'core' or 'compatibility' WebGPU feature level. */
  featureLevel: 'core' | 'compatibility';
  description: string;
  vendor: string;
  device: string;
  maxStorageBufferBindingSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupStorageSize: number;
  timestampQuery: boolean;
}

type GpuModule = typeof import('webgpu');
let webgpuModule: Promise<GpuModule> | undefined;
const gpuInstances = new Map<string, GPU>();

async function loadWebGpu(): Promise<GpuModule> {
  // Mesa's EGL must not look for a display server: set before Dawn loads.
  process.env.EGL_PLATFORM ??= 'surfaceless';
  webgpuModule ??= import('webgpu').then((m) => {
    Object.assign(globalThis, m.globals);
    return m;
  });
  return webgpuModule;
}

async function gpuFor(backendFlags: string[]): Promise<GPU> {
  const key = backendFlags.join(',');
  let gpu = gpuInstances.get(key);
  if (!gpu) {
    const { create } = await loadWebGpu();
    gpu = create(backendFlags);
    gpuInstances.set(key, gpu);
  }
  return gpu;
}

function parseChoice(value: string | undefined, origin: string): AdapterChoice {
  const v = (value ?? 'auto').toLowerCase();
  if (v === 'auto' || v === 'gpu' || v === 'cpu') return v;
  throw new EngineError(`${origin} must be 'auto', 'gpu' or 'cpu', got '${value}'`);
}

/**
 * On Linux the only core backend is Vulkan, and Dawn probing it without the
 * loader prints a warning with a C++ source location on every run. Whether
 * the loader can be found: in LD_LIBRARY_PATH or the linker cache. Null when
 * that cannot be told (no ldconfig); other platforms always have a core backend.
 */
function vulkanLoaderFound(): boolean | null {
  if (process.platform !== 'linux') return true;
  const lib = 'libvulkan.so.1';
  for (const dir of (process.env.LD_LIBRARY_PATH ?? '').split(':')) if (dir && existsSync(join(dir, lib))) return true;
  for (const ldconfig of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
    try {
      return execFileSync(ldconfig, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).includes(lib);
    } catch {
      // try the next place, then give up
    }
  }
  return null;
}

async function requestAdapter(choice: AdapterChoice): Promise<{ adapter: GPUAdapter; kind: 'gpu' | 'cpu' }> {
  if (choice !== 'cpu' && vulkanLoaderFound() === false) {
    if (choice === 'gpu') {
      throw new EngineError(
        'no core GPU adapter: the Vulkan loader (libvulkan.so.1) is not installed (Debian/Ubuntu: apt install libvulkan1, ' +
          'plus the GPU driver); use adapter "cpu" (WGRAD_ADAPTER=cpu) for the llvmpipe fallback',
      );
    }
  } else if (choice !== 'cpu') {
    const gpu = await gpuFor([]);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (adapter) return { adapter, kind: 'gpu' };
    if (choice === 'gpu') {
      throw new EngineError(
        'no core GPU adapter (Vulkan, Metal or D3D12) found; use adapter "cpu" (WGRAD_ADAPTER=cpu) for the llvmpipe fallback',
      );
    }
  }
  const gpu = await gpuFor(['backend=opengles']);
  const adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' } as GPURequestAdapterOptions);
  if (adapter) return { adapter, kind: 'cpu' };
  throw new EngineError(
    'no WebGPU adapter found: no core GPU adapter, and the OpenGL ES fallback failed. On Debian/Ubuntu install ' +
      'libegl1 libegl-mesa0 libgl1-mesa-dri libgles2 for the CPU (llvmpipe) fallback',
  );
}

// Limits worth raising above the (low) defaults: compatibility mode starts at 128 invocations per workgroup.
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
] as const;

/**
 * The limits to request from `adapter`: its own values of the limits that
 * WebGPU's defaults set low (compatibility mode's especially), so that a
 * device gets what the hardware allows.
 */
export function raisedLimits(adapter: GPUAdapter): Record<string, number> {
  const limits = adapter.limits as unknown as Record<string, number | undefined>;
  const raised: Record<string, number> = {};
  for (const k of RAISED_LIMITS) if (limits[k] !== undefined) raised[k] = limits[k];
  return raised;
}

/** One recorded dispatch: enough to replay it in a pass of its own. */
export interface RecordedDispatch {
  kernel: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  groups: [number, number, number];
}

let nextDeviceId = 1;

export class Device {
  readonly id = nextDeviceId++;
  readonly pool: BufferPool;
  readonly limits: GPUSupportedLimits;
  /** Count of submissions so far; a buffer used in epoch `epoch` is in the unsubmitted encoder. */
  epoch = 0;
  /** Dispatches recorded since the device was created (for benchmarks: dispatches per step). */
  dispatchCount = 0;
  /** Per-device caches used by kernel launchers (see kernel.ts). */
  readonly pipelines = new Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>();
  readonly uniforms = new Map<string, GPUBuffer>();
  readonly bindGroups = new Map<string, GPUBindGroup>();
  /**
   * For benchmarks (bench/timer.ts): when set, called as each compute pass
   * begins, to attach GPU timestamp writes to it. Null in normal use.
   */
  passTimestamps: (() => GPUComputePassTimestampWrites | undefined) | null = null;
  /**
   * For profiling (bench/profile.ts): when set, every dispatch recorded is
   * also appended here, so that it can be replayed and timed on its own.
   */
  capture: RecordedDispatch[] | null = null;

  private encoder: GPUCommandEncoder | null = null;
  private computePass: GPUComputePassEncoder | null = null;
  private errors: Error[] = [];
  private lostReason: string | null = null;
  private readbackPool: GPUBuffer[] = [];

  private constructor(
    readonly gpu: GPUDevice,
    readonly adapter: GPUAdapter,
    readonly description: AdapterDescription,
  ) {
    this.pool = new BufferPool(gpu);
    this.limits = gpu.limits;
    gpu.lost.then((info) => {
      if (info.reason !== 'destroyed') this.lostReason = `${info.reason}: ${info.message}`;
      else this.lostReason ??= 'the device was destroyed';
    });
    gpu.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      this.errors.push(new KernelError(`GPU error: ${ev.error.message}`));
    };
  }

  static async create(options: DeviceOptions = {}): Promise<Device> {
    const choice = options.adapter ?? parseChoice(process.env.WGRAD_ADAPTER, 'WGRAD_ADAPTER');
    parseChoice(choice, 'adapter option');
    const { adapter, kind } = await requestAdapter(choice);
    const requiredLimits = raisedLimits(adapter);
    const requiredFeatures: GPUFeatureName[] = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
    const gpu = await adapter.requestDevice({ requiredLimits, requiredFeatures });
    const info = adapter.info;
    const description: AdapterDescription = {
      kind,
      featureLevel: kind === 'gpu' ? 'core' : 'compatibility',
      description: info.description || info.device || 'unknown adapter',
      vendor: info.vendor,
      device: info.device,
      maxStorageBufferBindingSize: gpu.limits.maxStorageBufferBindingSize,
      maxComputeInvocationsPerWorkgroup: gpu.limits.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupStorageSize: gpu.limits.maxComputeWorkgroupStorageSize,
      timestampQuery: gpu.features.has('timestamp-query'),
    };
    return new Device(gpu, adapter, description);
  }

  /** One line for the start of a command: backend, adapter and the limits that shape kernels. */
  summary(): string {
    const d = this.description;
    const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;
    const backend = d.kind === 'gpu' ? 'GPU, core' : 'CPU fallback, OpenGL ES compatibility';
    return (
      `adapter: ${d.description}${d.device && !d.description.includes(d.device) ? ` (${d.device})` : ''} [${backend}] ` +
      `max binding ${mib(d.maxStorageBufferBindingSize)}, ${d.maxComputeInvocationsPerWorkgroup} invocations/workgroup, ` +
      `${d.maxComputeWorkgroupStorageSize / 1024} KiB workgroup memory, timestamps ${d.timestampQuery ? 'yes' : 'no'}`
    );
  }

  /** Throws if the device is lost; called before recording any work. */
  checkAlive(): void {
    if (this.lostReason !== null) throw new DeviceLostError(`GPU device lost (${this.lostReason}); create a new Device`);
  }

  /** The compute pass that kernels record into, opened on demand. */
  pass(): GPUComputePassEncoder {
    this.checkAlive();
    this.encoder ??= this.gpu.createCommandEncoder();
    this.computePass ??= this.encoder.beginComputePass(this.passTimestamps ? { timestampWrites: this.passTimestamps() } : undefined);
    return this.computePass;
  }

  /** The encoder outside any compute pass, for copies and clears. */
  commandEncoder(): GPUCommandEncoder {
    this.checkAlive();
    this.endPass();
    this.encoder ??= this.gpu.createCommandEncoder();
    return this.encoder;
  }

  private endPass(): void {
    if (this.computePass) {
      this.computePass.end();
      this.computePass = null;
    }
  }

  /** Submits everything recorded so far. Cheap when nothing is pending. */
  flush(): void {
    this.checkAlive();
    this.endPass();
    if (this.encoder) {
      this.gpu.queue.submit([this.encoder.finish()]);
      this.encoder = null;
      this.epoch++;
    }
  }

  /**
   * Records an error found while creating a pipeline; it is thrown at the next
   * sync point, ahead of the follow-on "invalid due to a previous error" noise.
   */
  reportError(err: Error): void {
    this.errors.unshift(err);
  }

  /** Throws the first GPU error recorded since the last check (compile, validation, device loss). */
  throwIfFailed(): void {
    this.checkAlive();
    const err = this.errors.shift();
    if (err) {
      this.errors.length = 0;
      throw err;
    }
  }

  /** Waits until the GPU has finished all submitted work, then reports any error it raised. */
  async sync(): Promise<void> {
    this.flush();
    await this.waitIdle();
    this.throwIfFailed();
  }

  private async waitIdle(): Promise<void> {
    const lost = this.gpu.lost.then(() => undefined);
    await Promise.race([this.gpu.queue.onSubmittedWorkDone(), lost]);
    // Pipeline error scopes resolve asynchronously; give them a turn before we look.
    await new Promise((r) => setImmediate(r));
  }

  /**
   * A buffer filled with `data`. queue.writeBuffer runs at submit-time order,
   * i.e. before anything still unsubmitted, so the buffer must not be one the
   * open encoder still reads.
   */
  upload(data: Float32Array): PooledBuffer {
    this.checkAlive();
    const buf = this.pool.acquire(data.byteLength, (b) => b.lastUse < this.epoch);
    this.gpu.queue.writeBuffer(buf.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return buf;
  }

  /** Overwrites part of a live buffer from the CPU; flushes first if pending work touches it. */
  write(buf: PooledBuffer, byteOffset: number, data: Float32Array): void {
    this.checkAlive();
    if (buf.lastUse >= this.epoch) this.flush();
    this.gpu.queue.writeBuffer(buf.buffer, byteOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Copies `byteLength` bytes at `byteOffset` back to the CPU. */
  async read(buf: PooledBuffer, byteOffset: number, byteLength: number): Promise<Float32Array> {
    const size = Math.max(16, Math.ceil(byteLength / 16) * 16);
    const i = this.readbackPool.findIndex((b) => b.size === size);
    const staging =
      i >= 0
        ? this.readbackPool.splice(i, 1)[0]
        : this.gpu.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const copyBytes = Math.min(size, buf.byteSize - byteOffset);
    this.commandEncoder().copyBufferToBuffer(buf.buffer, byteOffset, staging, 0, copyBytes & ~3);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      this.checkAlive();
      throw new EngineError(`reading a tensor back failed: ${(e as Error).message}`);
    }
    const out = new Float32Array(staging.getMappedRange(0, size).slice(0, byteLength));
    staging.unmap();
    if (this.readbackPool.length < 8) this.readbackPool.push(staging);
    else staging.destroy();
    await new Promise((r) => setImmediate(r));
    this.throwIfFailed();
    return out;
  }

  memory(): MemoryStats {
    return this.pool.stats();
  }

  /** Frees pooled (unused) buffers and cached uniforms/bind groups. */
  emptyCache(): void {
    this.flush();
    this.pool.trim();
    this.bindGroups.clear();
  }

  destroy(): void {
    this.lostReason ??= 'the device was destroyed';
    this.gpu.destroy();
  }
}

let defaultDevice: Promise<Device> | undefined;

/** The process-wide default device, created on first use (adapter from WGRAD_ADAPTER or 'auto'). */
export function getDevice(options?: DeviceOptions): Promise<Device> {
  defaultDevice ??= Device.create(options);
  return defaultDevice;
}
