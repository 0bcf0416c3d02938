// wgrad in a web page ('lmfn-webgpu/browser'): the same API as under Node
// (engine/core.ts), on the browser's own WebGPU. There are no files here:
// weights come and go as bytes (parseSafetensors, serializeSafetensors).
//
//   import { init, tensor, ops } from 'lmfn-webgpu/browser';
//   const device = await init();          // navigator.gpu's adapter; fails clearly without WebGPU

import { setHost } from './host.ts';
import { browserHost } from './browser/host.ts';

setHost(browserHost);

export * from './core.ts';
export { browserHost, browserOverrides } from './browser/host.ts';
