import { FAMILY_KERNELS, kernelFamily, type Device } from '../../../engine/node/index.ts';
import { LMFN } from '../../../model/lmfn.ts';
import { helpText, parseFlags } from '../args.ts';
import { openDevice } from './common.ts';

export const summary = 'show the adapter and the model\'s parameter counts';
const flags = { json: { type: 'boolean', help: 'print JSON instead of a table' } } as const;
export const help = helpText('lmfn info [--json]', 'Prints the WebGPU adapter in use and LMFN\'s parameters per module and in total.', flags);

/** Parameter counts per module at depth ≤ 2 ("encoder.head", "decoder.rfdb.0", …). */
export function countsByModule(model: LMFN): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [name, t] of model.namedParameters()) {
    const parts = name.split('.');
    const key = parts.slice(0, parts[1] === 'rfdb' || parts[1] === 'res2' ? 3 : 2).join('.');
    counts.set(key, (counts.get(key) ?? 0) + t.size);
  }
  return counts;
}

/** The kernel family each family-dependent op runs with on this device, and its WGSL. */
function kernelsByOp(device: Device): Record<string, { family: string; wgsl: string[] }> {
  const family = kernelFamily(device);
  return Object.fromEntries(Object.entries(FAMILY_KERNELS).map(([op, files]) => [op, { family, wgsl: files[family] }]));
}

export async function run(argv: string[]): Promise<void> {
  const opts = parseFlags('info', flags, argv);
  const device = await openDevice(true);
  const model = new LMFN(device);
  const modules = countsByModule(model);
  const total = model.parameterCount();
  const tensors = model.namedParameters().length;
  if (opts.json) {
    const kernels = { ...kernelsByOp(device), other: { family: 'one kernel per op on every adapter' } };
    console.log(JSON.stringify({ adapter: device.description, kernels, parameters: { total, tensors, modules: Object.fromEntries(modules) } }, null, 2));
  } else {
    console.log(device.summary());
    const d = device.description;
    console.log(`backend ${d.backend} (${d.featureLevel}), implementation ${d.implementation} (${d.kind === 'gpu' ? 'a GPU' : 'runs on the CPU'}), optional features: ${d.features.join(', ') || 'none'}`);
    for (const [op, k] of Object.entries(kernelsByOp(device))) console.log(`${op}: ${k.family} kernels (${k.wgsl.join(', ')})`);
    console.log(`\nLMFN parameters by module:`);
    for (const [name, n] of modules) console.log(`  ${name.padEnd(24)} ${n.toLocaleString('en-US').padStart(10)}`);
    console.log(`  ${'total'.padEnd(24)} ${total.toLocaleString('en-US').padStart(10)}  (${tensors} tensors)`);
  }
  model.dispose();
  device.destroy();
}
