// The GPU device: adapter choice, the one open command encoder that a whole
// training step is recorded into, uploads, readback, and GPU errors.
//
// Work is never submitted per op. Kernels are recorded into a single compute
// pass of a single encoder; `flush()` submits it, and only `read()`/`sync()`
// (the points where a caller awaits anyway) call `flush()`.

import { BufferPool, type MemoryStats, type PooledBuffer } from './pool.ts';
import { DeviceLostError, EngineError, KernelError } from './errors.ts';
import { ADAPTER_CHOICES, adapterRank, identifyAdapter, matchesChoice, type AdapterChoice, type AdapterIdentity, type Backend } from './adapters.ts';
import { host, type AdapterSource } from './host.ts';

export type { AdapterChoice } from './adapters.ts';

export interface DeviceOptions {
  /**
   * Which adapter: 'auto' (default; a hardware GPU if there is one, else the
   * fastest CPU implementation), 'gpu', 'cpu', a backend ('gl', 'vulkan') or
   * an implementation ('llvmpipe', 'lavapipe', 'swiftshader', …). Overrides
   * the WGRAD_ADAPTER environment variable.
   */
  adapter?: AdapterChoice;
}

export interface AdapterDescription extends AdapterIdentity {
  /** 'core' or 'compatibility' WebGPU feature level. */
  featureLevel: 'core' | 'compatibility';
  description: string;
  vendor: string;
  device: string;
  /** Optional WebGPU features the device was created with. */
  features: string[];
  maxStorageBufferBindingSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupStorageSize: number;
  timestampQuery: boolean;
}

function parseChoice(value: string | undefined, origin: string): AdapterChoice {
  const v = (value || 'auto').toLowerCase();
  if ((ADAPTER_CHOICES as readonly string[]).includes(v)) return v as AdapterChoice;
  throw new EngineError(`${origin} must be one of ${ADAPTER_CHOICES.join(', ')}; got '${value}'`);
}

interface Found {
  adapter: GPUAdapter;
  id: AdapterIdentity;
  source: AdapterSource;
}

/** One line per adapter found, for an error that says what there was instead. */
function listFound(found: Found[]): string {
  if (!found.length) return 'no WebGPU adapter at all';
  return 'found: ' + found.map((f) => `${f.id.implementation} (${f.id.backend}, ${f.id.kind})`).join(', ');
}

/** The adapter `choice` asks for: every source asked, the matches ranked (adapters.ts), the best taken. */
async function requestAdapter(choice: AdapterChoice): Promise<Found> {
  const found: Found[] = [];
  const unavailable: string[] = [];
  for (const source of host().adapterSources()) {
    // A backend's own implementations need not be opened when another backend was asked for.
    if (choice === 'gl' && source.backend !== 'opengles') continue;
    if ((choice === 'vulkan' || choice === 'lavapipe' || choice === 'swiftshader') && source.backend !== 'vulkan') continue;
    if (choice === 'llvmpipe' && source.backend !== 'opengles') continue;
    if (source.unavailable) unavailable.push(source.unavailable);
    let adapter: GPUAdapter | null = null;
    try {
      adapter = await source.request();
    } catch {
      // A driver that fails to open is one fewer choice, not an error.
    }
    if (adapter) found.push({ adapter, id: identifyAdapter(adapter.info, source.backend), source });
  }
  const matches = found.filter((f) => matchesChoice(f.id, choice)).sort((a, b) => adapterRank(a.id) - adapterRank(b.id));
  if (matches.length) return matches[0];
  if (choice === 'auto') {
    throw new EngineError(`no WebGPU adapter found. ${host().noAdapterHelp}`);
  }
  throw new EngineError(`no '${choice}' adapter (WGRAD_ADAPTER=${choice}); ${[listFound(found), ...unavailable].join('; ')}`);
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

const BACKEND_NAMES: Record<Backend, string> = {
  vulkan: 'Vulkan', opengles: 'OpenGL ES', metal: 'Metal', d3d12: 'D3D12', d3d11: 'D3D11', webgpu: 'WebGPU',
};

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
  /**
   * For compile benchmarks (bench/compile.ts): when set, every pipeline created
   * is appended here with the milliseconds createComputePipeline took.
   */
  pipelineLog: { key: string; pipeline: GPUComputePipeline; createMs: number }[] | null = null;
  /**
   * For `precompile` (kernel.ts): while set, launches record nothing and only
   * name their kernel here, by pipeline key. Null in normal use.
   */
  collecting: Map<string, object> | null = null;

  private encoder: GPUCommandEncoder | null = null;
  private computePass: GPUComputePassEncoder | null = null;
  private errors: Error[] = [];
  private lostReason: string | null = null;
  private readbackPool: GPUBuffer[] = [];

  private constructor(
    readonly gpu: GPUDevice,
    readonly adapter: GPUAdapter,
    readonly description: AdapterDescription,
    private readonly source: AdapterSource,
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
    const choice = options.adapter ? parseChoice(options.adapter, 'the adapter option') : parseChoice(host().env('WGRAD_ADAPTER'), 'WGRAD_ADAPTER');
    const { adapter, id, source } = await requestAdapter(choice);
    const requiredLimits = raisedLimits(adapter);
    const requiredFeatures: GPUFeatureName[] = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
    const gpu = await adapter.requestDevice({ requiredLimits, requiredFeatures });
    const info = adapter.info;
    const description: AdapterDescription = {
      ...id,
      featureLevel: adapter.features.has('core-features-and-limits' as GPUFeatureName) || id.backend !== 'opengles' ? 'core' : 'compatibility',
      // Browsers may report neither (Chrome on SwiftShader: vendor 'google', architecture 'swiftshader').
      description: info.description || info.device || [info.vendor, info.architecture].filter(Boolean).join(' ') || 'unknown adapter',
      vendor: info.vendor,
      device: info.device,
      features: [...gpu.features].filter((f) => f !== 'core-features-and-limits').sort(),
      maxStorageBufferBindingSize: gpu.limits.maxStorageBufferBindingSize,
      maxComputeInvocationsPerWorkgroup: gpu.limits.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupStorageSize: gpu.limits.maxComputeWorkgroupStorageSize,
      timestampQuery: gpu.features.has('timestamp-query'),
    };
    return new Device(gpu, adapter, description, source);
  }

  /** A fresh adapter from where this device's came from (for peers measured on the same implementation: bench/tfjs.ts). */
  requestAnotherAdapter(): Promise<GPUAdapter | null> {
    return this.source.request();
  }

  /** One line for the start of a command: backend, adapter and the limits that shape kernels. */
  summary(): string {
    const d = this.description;
    const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;
    const backend = `${d.kind === 'gpu' ? 'GPU' : 'CPU'}: ${d.implementation}, ${BACKEND_NAMES[d.backend]} ${d.featureLevel}`;
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
    await host().nextTurn();
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
    await host().nextTurn();
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
