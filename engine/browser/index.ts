// wgrad in a web page ('lmfn-webgpu/browser'): the same API as under Node
// (engine/index.ts), on the browser's own WebGPU. There are no files here:
// weights come and go as bytes (parseSafetensors, serializeSafetensors).
//
//   import { init, tensor, ops } from 'lmfn-webgpu/browser';
//   const device = await init();          // navigator.gpu's adapter; fails clearly without WebGPU

import { setHost } from '../host.ts';
import { browserHost } from './host.ts';

setHost(browserHost);

export * from '../index.ts';
export { browserHost, browserOverrides } from './host.ts';
