import { LMFN } from '../../../model/lmfn.ts';
import { saveWeights } from '../../weights.ts';
import { LMFN_INITS, isLMFNInit } from '../../../model/identity.ts';
import { helpText, parseFlags, UsageError } from '../args.ts';
import { openDevice } from './common.ts';

export const summary = "write freshly initialised weights (LMFN.md §9, or the identity start)";
const flags = {
  output: { type: 'string', help: 'where to write the .safetensors weights', required: true },
  init: { type: 'string', help: "'paper' (§9) or 'identity' (§9 with the picture's path set to pass the input through; README, Initialisation)", default: 'paper' },
  seed: { type: 'number', help: 'seed of the random initialisation', default: 0 },
} as const;
export const help = helpText(
  'lmfn init --output W.safetensors [--init paper|identity] [--seed N]',
  'Initialises LMFN as the spec says (§9), or as the identity, and writes the weights as safetensors with PyTorch state_dict names.',
  flags,
);

export async function run(argv: string[]): Promise<void> {
  const opts = parseFlags('init', flags, argv);
  const init = opts.init;
  if (!isLMFNInit(init)) throw new UsageError(`init: --init must be ${LMFN_INITS.join(' or ')}, got '${init}'`);
  const device = await openDevice();
  const model = new LMFN(device, { seed: opts.seed, init });
  await saveWeights(model, opts.output, { seed: String(opts.seed), init: opts.init });
  console.log(`wrote ${model.namedParameters().length} tensors (${model.parameterCount().toLocaleString('en-US')} parameters) to ${opts.output}`);
  model.dispose();
  device.destroy();
}
