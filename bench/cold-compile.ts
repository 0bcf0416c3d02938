// Cold compile of one LMFN training step (2×64²), per pipeline: run with
// MESA_SHADER_CACHE_DISABLE=true. Each pipeline's first dispatch is replayed alone
// twice; cold − warm ≈ its compile cost (llvmpipe compiles at first dispatch on GL
// and on lavapipe alike). Wraps createComputePipeline to time creation too.
// Usage: MESA_SHADER_CACHE_DISABLE=true node --import tsx bench/cold-compile.ts
// (WGRAD_ADAPTER / WGRAD_KERNELS select adapter and family). A measuring script
// for issue 9, not yet a `lmfn bench compile` command.
import { Device, type RecordedDispatch } from '../engine/index.ts';
import { trainStepFixture } from './model.ts';
import { replayDispatch } from './profile.ts';
const device = await Device.create();
console.log(device.summary());
const gpu = device.gpu as any;
const orig = gpu.createComputePipeline.bind(gpu);
const times: [string, number][] = [];
gpu.createComputePipeline = (d: any) => { const t = performance.now(); const p = orig(d); times.push([d.label + JSON.stringify(d.compute.constants), performance.now() - t]); return p; };
const fx = trainStepFixture(device, 2, 64);
const t0 = performance.now();
const caps: RecordedDispatch[] = []; device.capture = caps;
const l = fx.step();
device.capture = null;
const tRec = performance.now() - t0;
// replay first use of each pipeline alone
const seen = new Set<GPUComputePipeline>();
const rows: [string, number, number][] = [];
for (const d of caps) {
  if (seen.has(d.pipeline)) continue; seen.add(d.pipeline);
  const cold = await replayDispatch(device, d);
  const warm = await replayDispatch(device, d);
  rows.push([d.kernel, cold, warm]);
  process.stderr.write(`${d.kernel} ${cold.toFixed(0)} ${warm.toFixed(0)}\n`);
}
await l.read();
console.log('record ms', tRec.toFixed(0), 'pipelines', seen.size, 'dispatches', caps.length, 'total', (performance.now() - t0).toFixed(0));
console.log("create ms total", times.reduce((a, b) => a + b[1], 0).toFixed(0)); times.sort((a,b)=>b[1]-a[1]); for (const t of times.slice(0,40)) console.log("create", t[0].slice(0,90), t[1].toFixed(0));
rows.sort((a, b) => b[1] - a[1]);
for (const r of rows) console.log(r[0].padEnd(40), (r[1] - r[2]).toFixed(0).padStart(8));
