import { LMFN } from '../../model/lmfn.ts';
import { saveWeights } from '../../model/checkpoint.ts';
import { helpText, parseFlags } from '../args.ts';
import { openDevice } from './common.ts';

export const summary = 'write freshly initialised weights (LMFN.md §9)';
const flags = {
  output: { type: 'string', help: 'where to write the .safetensors weights', required: true },
  seed: { type: 'number', help: 'seed of the random initialisation', default: 0 },
} as const;
export const help = helpText('lmfn init --output W.safetensors [--seed N]', 'Initialises LMFN as the spec says (§9) and writes the weights as safetensors with PyTorch state_dict names.', flags);

export async function run(argv: string[]): Promise<void> {
  const opts = parseFlags('init', flags, argv);
  const device = await openDevice();
  const model = new LMFN(device, { seed: opts.seed });
  await saveWeights(model, opts.output, { seed: String(opts.seed) });
  console.log(`wrote ${model.namedParameters().length} tensors (${model.parameterCount().toLocaleString('en-US')} parameters) to ${opts.output}`);
  model.dispose();
  device.destroy();
}
