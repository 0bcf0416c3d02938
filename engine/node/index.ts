// wgrad: a small WebGPU tensor engine with reverse-mode autograd. This is its
// Node.js entry point ('lmfn-webgpu'); a page imports engine/browser/index.ts
// ('lmfn-webgpu/browser') instead.
//
//   import { init, tensor, ops, tidy } from 'lmfn-webgpu';
//   const device = await init();                 // best adapter; WGRAD_ADAPTER=gpu|cpu|gl|lavapipe|… picks one
//   const x = tensor([1, 2, 3, 4], [2, 2]).requireGrad();
//   const loss = ops.sum(ops.mul(x, x));
//   loss.backward();
//   console.log(await x.grad!.read());           // [2, 4, 6, 8]
//
// Everything public is exported from here: the host-free API (engine/index.ts)
// and what only Node has, files.

import { setHost } from '../host.ts';
import { nodeHost } from './host.ts';

setHost(nodeHost);

export * from '../index.ts';
export { nodeHost } from './host.ts';
export { readSafetensors, writeSafetensors } from './files.ts';
export { writeFileAtomic } from './atomic-write.ts';
