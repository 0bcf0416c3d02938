// Device-peak calibration on the adapter the benchmarks run on: measured
// FMA throughput (GFLOP/s) and copy bandwidth (GB/s), the 100 % marks that
// every kernel row is reported against. Measured, not a datasheet figure, so
// it also holds for llvmpipe, whose peak depends on the CPU and its threads.

import { Kernel, Tensor, f32bits, groups1d, launch, wgsl, type Device } from '../engine/node/index.ts';
import type { Timer, Timing } from './timer.ts';

const source = wgsl('calibrate.wgsl');
const WG = 64;
/** On llvmpipe 256 copies ~10% faster than 64; grid-stride loops and several vec4s per invocation were slower. */
const COPY_WG = 256;
const fmaKernel = new Kernel({ name: 'calibrate.fma_peak', source, entryPoint: 'fma_peak', bindings: ['read', 'write'], params: true, workgroupSize: [WG] });
const copyKernel = new Kernel({ name: 'calibrate.copy_peak', source, entryPoint: 'copy_peak', bindings: ['read', 'write'], params: true, workgroupSize: [COPY_WG] });

/** Samples are short (tens of ms); many of them make it likely one lands in a quiet moment of a shared CPU. */
const MIN_SAMPLES = 12;

/** FLOPs of one loop trip of one fma_peak invocation: 8 chains · 4 steps · 4 lanes · 2. */
const FLOPS_PER_TRIP = 8 * 4 * 4 * 2;

export interface Calibration {
  /** Measured FMA throughput, GFLOP/s (from the fastest sample). */
  gflops: number;
  /** Measured copy bandwidth, GB/s (bytes read + written, from the fastest sample). */
  gbps: number;
  fma: { invocations: number; iters: number; gflop: number; timing: Timing };
  copy: { bytes: number; timing: Timing };
}

/** The Params struct of calibrate.wgsl: 12 words. */
function params(iters: number, n: number): number[] {
  const factor = 0.9999;
  const offset = 1e-4;
  return [iters, n, 0, 0, ...Array(4).fill(f32bits(factor)), ...Array(4).fill(f32bits(offset))];
}

export async function calibrate(device: Device, timer: Timer, options: { samples: number; quick?: boolean }): Promise<Calibration> {
  const gpu = device.description.kind === 'gpu';
  // Enough invocations to keep every core busy: a GPU wants ~1M threads in
  // flight; llvmpipe runs workgroups on a few CPU threads, 8 lanes at a time.
  const invocations = gpu ? 1 << 20 : 1 << 14;
  const iters = gpu ? 2048 : 256;
  const unused = Tensor.empty(device, [4]);
  const fmaOut = Tensor.empty(device, [invocations * 4]);
  const fmaTiming = await timer.time(
    () => launch(device, fmaKernel, { buffers: [unused.range(), fmaOut.range()], params: params(iters, invocations), groups: groups1d(invocations, WG) }),
    { samples: Math.max(options.samples, MIN_SAMPLES), budgetMs: options.quick ? 1000 : 2500 },
  );
  fmaOut.dispose();
  unused.dispose();
  const gflop = (invocations * iters * FLOPS_PER_TRIP) / 1e9;

  // The largest copy within one binding, at most 128 MiB per side: well past the caches.
  const maxBinding = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const bytes = Math.min(128 * 2 ** 20, Math.floor(maxBinding / 16) * 16);
  const vec4s = bytes / 16;
  const src = Tensor.empty(device, [vec4s * 4]);
  const dst = Tensor.empty(device, [vec4s * 4]);
  const copyTiming = await timer.time(
    () => launch(device, copyKernel, { buffers: [src.range(), dst.range()], params: params(0, vec4s), groups: groups1d(vec4s, COPY_WG) }),
    { samples: Math.max(options.samples, MIN_SAMPLES), budgetMs: options.quick ? 1000 : 2500 },
  );
  src.dispose();
  dst.dispose();
  device.emptyCache();
  // A peak is the best the adapter did: the fastest sample, not the median (others share the CPU adapter's cores).
  return {
    gflops: gflop / (fmaTiming.minMs / 1e3),
    gbps: (2 * bytes) / 1e9 / (copyTiming.minMs / 1e3),
    fma: { invocations, iters, gflop, timing: fmaTiming },
    copy: { bytes, timing: copyTiming },
  };
}

/** The better of several calibrations (e.g. at the start and the end of a run): a peak is what the adapter can reach. */
export function bestOf(calibrations: Calibration[]): { gflops: number; gbps: number } {
  return { gflops: Math.max(...calibrations.map((c) => c.gflops)), gbps: Math.max(...calibrations.map((c) => c.gbps)) };
}
