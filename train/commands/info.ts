import { LMFN } from '../../model/lmfn.ts';
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

export async function run(argv: string[]): Promise<void> {
  const opts = parseFlags('info', flags, argv);
  const device = await openDevice(true);
  const model = new LMFN(device);
  const modules = countsByModule(model);
  const total = model.parameterCount();
  const tensors = model.namedParameters().length;
  if (opts.json) {
    console.log(JSON.stringify({ adapter: device.description, parameters: { total, tensors, modules: Object.fromEntries(modules) } }, null, 2));
  } else {
    console.log(device.summary());
    console.log(`\nLMFN parameters by module:`);
    for (const [name, n] of modules) console.log(`  ${name.padEnd(24)} ${n.toLocaleString('en-US').padStart(10)}`);
    console.log(`  ${'total'.padEnd(24)} ${total.toLocaleString('en-US').padStart(10)}  (${tensors} tensors)`);
  }
  model.dispose();
  device.destroy();
}
