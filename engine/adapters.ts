// What a WebGPU adapter is, told from what the implementation reports about
// it, not from which backend found it: Mesa's lavapipe is a core Vulkan
// adapter and still a CPU, and Dawn's OpenGL ES backend can sit on a real GPU.
// Pure functions of adapter info, so that they are tested on the infos that
// real drivers report (tests/adapters.test.ts).

/** The backends Dawn offers; which one found an adapter is known to whoever asked. */
export type Backend = 'vulkan' | 'opengles' | 'metal' | 'd3d12' | 'd3d11' | 'webgpu';

/** CPU implementations of WebGPU's backends, by the names their drivers go by. */
export const CPU_IMPLEMENTATIONS = ['llvmpipe', 'lavapipe', 'swiftshader', 'softpipe', 'warp'] as const;
export type CpuImplementation = (typeof CPU_IMPLEMENTATIONS)[number];

/** The fields of GPUAdapterInfo that tell an implementation apart (all optional: hosts differ). */
export interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

export interface AdapterIdentity {
  /** 'cpu' for a software implementation, 'gpu' for hardware. */
  kind: 'gpu' | 'cpu';
  /** A CPU implementation's name, or the hardware vendor (e.g. 'nvidia'), or 'gpu' when none is reported. */
  implementation: CpuImplementation | string;
  backend: Backend;
}

/** Names a driver reports, matched against the vendor, architecture, device and description together. */
const PATTERNS: [RegExp, (backend: Backend) => CpuImplementation][] = [
  [/swiftshader|subzero/i, () => 'swiftshader'],
  // Mesa's CPU Vulkan driver calls its devices "llvmpipe" as the GL driver does.
  [/lavapipe/i, () => 'lavapipe'],
  [/llvmpipe/i, (b) => (b === 'vulkan' ? 'lavapipe' : 'llvmpipe')],
  [/softpipe/i, () => 'softpipe'],
  [/microsoft basic render|\bwarp\b/i, () => 'warp'],
];

export function identifyAdapter(info: AdapterInfoLike, backend: Backend): AdapterIdentity {
  const text = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
  for (const [pattern, name] of PATTERNS) if (pattern.test(text)) return { kind: 'cpu', implementation: name(backend), backend };
  const vendor = (info.vendor ?? '').trim().toLowerCase();
  // A fallback adapter we cannot name is still a CPU one (Dawn sets the flag for every software device).
  if (info.isFallbackAdapter || /\bsoftware\b|\bcpu\b/i.test(info.architecture ?? '')) return { kind: 'cpu', implementation: vendor || 'cpu', backend };
  return { kind: 'gpu', implementation: vendor || 'gpu', backend };
}

/**
 * The CPU implementations in the order `auto` prefers them, fastest first, as
 * measured for one LMFN training step on a 2-core x86 guest (bench/RESULTS.md,
 * "Step time per implementation"); unnamed software adapters come last.
 */
export const CPU_PREFERENCE: readonly string[] = ['llvmpipe', 'lavapipe', 'swiftshader', 'warp', 'softpipe'];

/** Vendors whose Vulkan/GL devices are usually discrete, ranked first among hardware GPUs. */
const DISCRETE_VENDORS = /nvidia|amd|ati\b|radeon/i;

/** Lower is better: hardware first (likely-discrete vendors ahead), then CPUs by CPU_PREFERENCE, core before GL. */
export function adapterRank(id: AdapterIdentity): number {
  const backendPenalty = id.backend === 'opengles' ? 0.5 : 0;
  if (id.kind === 'gpu') return (DISCRETE_VENDORS.test(id.implementation) ? 0 : 1) + backendPenalty;
  const i = CPU_PREFERENCE.indexOf(id.implementation);
  return 10 + (i < 0 ? CPU_PREFERENCE.length : i) + backendPenalty;
}

/** What the user may ask for (WGRAD_ADAPTER, Device.create's `adapter`). */
export const ADAPTER_CHOICES = ['auto', 'gpu', 'cpu', 'gl', 'vulkan', ...CPU_IMPLEMENTATIONS] as const;
export type AdapterChoice = (typeof ADAPTER_CHOICES)[number];

/** Whether an adapter satisfies a choice: 'gpu' hardware only, 'cpu' software only, 'gl'/'vulkan' a backend, else one implementation. */
export function matchesChoice(id: AdapterIdentity, choice: AdapterChoice): boolean {
  switch (choice) {
    case 'auto': return true;
    case 'gpu': return id.kind === 'gpu';
    case 'cpu': return id.kind === 'cpu';
    case 'gl': return id.backend === 'opengles';
    case 'vulkan': return id.backend === 'vulkan';
    default: return id.implementation === choice;
  }
}
