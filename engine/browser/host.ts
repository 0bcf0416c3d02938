// The engine's host in a web page: the browser's own WebGPU (navigator.gpu),
// overrides set by the page (no environment there), and kernels/*.wgsl inlined
// by the build (scripts/build.mjs), so nothing is fetched at run time.

import type { Host } from '../host.ts';
import { EngineError } from '../errors.ts';

/** WGRAD_ADAPTER, WGRAD_KERNELS: a page sets them here (the environment variables' role under Node). */
export const browserOverrides: Record<string, string | undefined> = {};

export const browserHost: Host = {
  name: 'browser',
  noAdapterHelp:
    'This browser has no WebGPU (navigator.gpu is missing, or it offered no adapter): use a current Chrome, Edge or Safari, ' +
    'or Firefox with WebGPU enabled, on a page served over https or localhost',
  adapterSources() {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (!gpu) return [];
    return [{ backend: 'webgpu', request: () => gpu.requestAdapter({ powerPreference: 'high-performance' }) }];
  },
  env: (name) => browserOverrides[name],
  readKernelSource(file) {
    throw new EngineError(`kernels/${file} was not inlined: import the engine's browser build (dist/browser.js), not its sources`);
  },
  // A message posted to ourselves runs on the next turn without setTimeout's 4 ms clamp.
  nextTurn: () =>
    new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    }),
};
