// What the engine needs from wherever it runs, and nothing more: where GPU
// adapters come from, environment overrides, the WGSL sources (when a build
// has not inlined them), and a turn of the event loop. The core (engine/,
// kernels/, model/) touches no Node module, no `process`, no `navigator`:
// the entry points fill this in. engine/node/index.ts installs Node's (Dawn
// through the `webgpu` package, engine/node/host.ts); engine/browser/index.ts installs the
// page's (navigator.gpu).

import type { Backend } from './adapters.ts';
import { EngineError } from './errors.ts';

/** A place to ask for an adapter: a backend and, for Vulkan under Node, the driver manifest it is limited to. */
export interface AdapterSource {
  backend: Backend;
  /** Vulkan: the ICD manifest (JSON) this instance may load; absent for other backends. */
  icd?: string;
  /** Why this source cannot answer on this machine (its request resolves null); said when the user asked for it. */
  unavailable?: string;
  request(): Promise<GPUAdapter | null>;
}

export interface Host {
  /** 'node', 'browser', or another host's own name; for messages. */
  readonly name: string;
  /** What to tell a user whom no adapter answered: what to install or enable on this host. */
  readonly noAdapterHelp: string;
  /** Every place an adapter may come from; the device asks each and ranks what it finds (adapters.ts). */
  adapterSources(): AdapterSource[];
  /** An override such as WGRAD_ADAPTER or WGRAD_KERNELS; undefined where the host has none. */
  env(name: string): string | undefined;
  /** The text of kernels/<file>. Asked only when the build did not inline the sources (engine/wgsl-sources.ts). */
  readKernelSource(file: string): string;
  /** Resolves after the host's event loop has had a turn (GPU error scopes resolve there). */
  nextTurn(): Promise<void>;
}

let installed: Host | null = null;

/** Makes `host` the one the engine asks. The entry points call this; embedders with their own WebGPU may too. */
export function setHost(host: Host): void {
  installed = host;
}

/** The installed host; an error that says how to get one when the core was imported without an entry point. */
export function host(): Host {
  if (!installed) {
    throw new EngineError(
      "no host: import the engine through its entry point ('lmfn-webgpu' in Node, 'lmfn-webgpu/browser' in a page), or call setHost()",
    );
  }
  return installed;
}
