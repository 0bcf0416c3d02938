// The engine's host under Node.js: Dawn through the npm package `webgpu`
// (engine/node/gpu.ts), process.env for the WGRAD_* overrides, kernels/*.wgsl
// read from disk beside this package, and setImmediate for a turn of the loop.

import { readFileSync } from 'node:fs';
import type { Host } from '../host.ts';
import { adapterSources } from './gpu.ts';

export const nodeHost: Host = {
  name: 'node',
  noAdapterHelp:
    'On Debian/Ubuntu install libegl1 libegl-mesa0 libgl1-mesa-dri libgles2 for the CPU (llvmpipe) fallback, or libvulkan1 and a Vulkan driver',
  adapterSources,
  env: (name) => process.env[name],
  readKernelSource: (file) => readFileSync(new URL(`../../kernels/${file}`, import.meta.url), 'utf8'),
  nextTurn: () => new Promise((resolve) => setImmediate(resolve)),
};
