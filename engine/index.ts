// wgrad: a small WebGPU tensor engine with reverse-mode autograd. This is its
// Node.js entry point ('lmfn-webgpu'); a page imports engine/browser.ts
// ('lmfn-webgpu/browser') instead.
//
//   import { init, tensor, ops, tidy } from 'lmfn-webgpu';
//   const device = await init();                 // best adapter; WGRAD_ADAPTER=gpu|cpu|gl|lavapipe|… picks one
//   const x = tensor([1, 2, 3, 4], [2, 2]).requireGrad();
//   const loss = ops.sum(ops.mul(x, x));
//   loss.backward();
//   console.log(await x.grad!.read());           // [2, 4, 6, 8]
//
// Everything public is exported from here: the host-free API (engine/core.ts)
// and what only Node has, files.

import { setHost } from './host.ts';
import { nodeHost } from './node/host.ts';

setHost(nodeHost);

export * from './core.ts';
export { nodeHost } from './node/host.ts';
export { readSafetensors, writeSafetensors } from './node/files.ts';
export { writeFileAtomic } from './node/atomic-write.ts';
