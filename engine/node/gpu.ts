// Node's way to WebGPU: Dawn through the npm package `webgpu`, one Dawn
// instance per place an adapter can come from. Part of the Node host
// (engine/node/host.ts), which may look at files, the environment and the
// platform; a browser gets its adapter from navigator.gpu instead.
//
// Why one instance per Vulkan driver: the JS API returns one adapter per
// request, and with several drivers installed Dawn returns the same one
// whatever the power preference (SwiftShader over lavapipe, measured). The
// Vulkan loader reads VK_ICD_FILENAMES when an instance is created, so naming
// one driver's manifest around each create() opens each driver on its own.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../adapters.ts';
import type { AdapterSource } from '../host.ts';

type GpuModule = typeof import('webgpu');
let webgpuModule: Promise<GpuModule> | undefined;

async function loadWebGpu(): Promise<GpuModule> {
  // Mesa's EGL must not look for a display server: set before Dawn loads.
  process.env.EGL_PLATFORM ??= 'surfaceless';
  webgpuModule ??= import('webgpu').then((m) => {
    Object.assign(globalThis, m.globals);
    return m;
  });
  return webgpuModule;
}

const instances = new Map<string, GPU>();

/**
 * An adapter from the Dawn instance for `flags`, asked with `env` set: the
 * Vulkan loader reads it when Dawn first asks for adapters, not when the
 * instance is created, so it stays set until the answer comes (then restored).
 */
async function adapterFrom(flags: string[], options: GPURequestAdapterOptions, env: Record<string, string> = {}): Promise<GPUAdapter | null> {
  const { create } = await loadWebGpu();
  const key = JSON.stringify([flags, env]);
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    let gpu = instances.get(key);
    if (!gpu) instances.set(key, (gpu = create(flags)));
    return await gpu.requestAdapter(options);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/**
 * Whether the Vulkan loader (libvulkan.so.1) can be loaded: in LD_LIBRARY_PATH
 * or the linker cache. Without it Dawn prints a warning with a C++ source path
 * on every run, so we do not ask. Null when it cannot be told (no ldconfig).
 */
function vulkanLoaderFound(): boolean | null {
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

/** Where the Vulkan loader looks for driver manifests on Linux, plus Chromium's SwiftShader (a CPU driver many machines have). */
function icdDirectories(): string[] {
  const home = process.env.HOME;
  const dataHome = process.env.XDG_DATA_HOME ?? (home ? join(home, '.local/share') : '');
  const dataDirs = (process.env.XDG_DATA_DIRS ?? '/usr/local/share:/usr/share').split(':');
  return [...new Set(['/etc/vulkan/icd.d', ...[dataHome, ...dataDirs].filter(Boolean).map((d) => join(d, 'vulkan/icd.d'))])];
}

const CHROMIUM_SWIFTSHADER = ['/usr/lib/chromium/vk_swiftshader_icd.json', '/usr/lib64/chromium/vk_swiftshader_icd.json'];

/** Manifests built for another architecture (lvp_icd.i686.json on x86_64) only make the loader complain. */
const ARCH_NAMES: Record<string, string[]> = { x64: ['x86_64', 'amd64'], arm64: ['aarch64', 'arm64'], ia32: ['i686', 'i386'], arm: ['armv7l', 'armhf'] };

function forThisArch(file: string): boolean {
  const all = Object.values(ARCH_NAMES).flat();
  const named = all.filter((a) => file.includes(`.${a}.`));
  return named.length === 0 || named.some((a) => (ARCH_NAMES[process.arch] ?? []).includes(a));
}

/** A manifest whose library is given by absolute path that does not exist would fail to load, noisily. */
function loadable(file: string): boolean {
  try {
    const lib = (JSON.parse(readFileSync(file, 'utf8')) as { ICD?: { library_path?: string } }).ICD?.library_path;
    return typeof lib === 'string' && (!lib.startsWith('/') || existsSync(lib));
  } catch {
    return false;
  }
}

/** The Vulkan driver manifests to try, each on its own: VK_ICD_FILENAMES / VK_DRIVER_FILES when set, else the loader's directories. */
export function vulkanDrivers(): string[] {
  const given = process.env.VK_DRIVER_FILES || process.env.VK_ICD_FILENAMES;
  let files: string[];
  if (given) files = given.split(':').filter(Boolean);
  else {
    files = [];
    for (const dir of icdDirectories()) {
      let names: string[] = [];
      try {
        names = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
      } catch {
        continue;
      }
      files.push(...names.map((f) => join(dir, f)));
    }
    files.push(...CHROMIUM_SWIFTSHADER.filter((f) => existsSync(f)));
  }
  return [...new Set(files)].filter((f) => forThisArch(f) && loadable(f));
}

/** Every place this Node process can get an adapter from: each Vulkan driver (Linux) or the platform's core backend, and Dawn's OpenGL ES. */
export function adapterSources(): AdapterSource[] {
  const sources: AdapterSource[] = [];
  const gl: AdapterSource = {
    backend: 'opengles',
    request: () => adapterFrom(['backend=opengles'], { featureLevel: 'compatibility' } as GPURequestAdapterOptions),
  };
  if (process.platform !== 'linux') {
    const backend: Backend = process.platform === 'darwin' ? 'metal' : process.platform === 'win32' ? 'd3d12' : 'vulkan';
    sources.push({ backend, request: () => adapterFrom([], { powerPreference: 'high-performance' }) });
    if (process.platform === 'win32') sources.push(gl);
    return sources;
  }
  if (vulkanLoaderFound() !== false) {
    for (const icd of vulkanDrivers()) {
      const env = { VK_ICD_FILENAMES: icd, VK_DRIVER_FILES: icd };
      sources.push({ backend: 'vulkan', icd, request: () => adapterFrom([], { powerPreference: 'high-performance' }, env) });
    }
  } else {
    const unavailable = 'the Vulkan loader libvulkan.so.1 is not installed (Debian/Ubuntu: apt-get install libvulkan1)';
    sources.push({ backend: 'vulkan', unavailable, request: async () => null });
  }
  sources.push(gl);
  return sources;
}
