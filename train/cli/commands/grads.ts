import { Tensor, ops, writeSafetensors } from '../../../engine/node/index.ts';
import { LMFN } from '../../../model/lmfn.ts';
import { helpText, parseFlags, UsageError } from '../args.ts';
import { readImage } from '../../image.ts';
import { loadModel, openDevice, requireFile } from './common.ts';

export const summary = 'one forward and backward of the MSE loss; write the loss and every gradient';
const flags = {
  weights: { type: 'string', help: 'LMFN weights (.safetensors)', required: true },
  blur: { type: 'string', help: 'blurred input (PNG or .safetensors image)', required: true },
  sharp: { type: 'string', help: 'sharp target (PNG or .safetensors image)', required: true },
  output: { type: 'string', help: 'where to write the gradients (.safetensors)', required: true },
} as const;
export const help = helpText(
  'lmfn grads --weights W --blur B --sharp S --output G.safetensors',
  'Computes loss = mean((LMFN(B) − S)²) over all elements, backpropagates once (no update) and writes `loss` [1] and each\n' +
    'parameter\'s gradient under the parameter\'s own name, for checking numerics against another framework. B and S must\n' +
    'have the same size, and H and W must be multiples of 16 and at least 64.',
  flags,
);

export async function run(argv: string[]): Promise<void> {
  const opts = parseFlags('grads', flags, argv);
  for (const f of ['blur', 'sharp'] as const) requireFile(opts[f], f);
  const blur = readImage(opts.blur);
  const sharp = readImage(opts.sharp);
  if (blur.width !== sharp.width || blur.height !== sharp.height) {
    throw new UsageError(`grads: --blur is ${blur.width}×${blur.height} but --sharp is ${sharp.width}×${sharp.height}`);
  }
  const shape = [1, 3, blur.height, blur.width];
  LMFN.checkSize(shape);
  const device = await openDevice();
  const model = loadModel(device, opts.weights);
  const x = Tensor.fromData(device, blur.rgb, shape);
  const y = Tensor.fromData(device, sharp.rgb, shape);
  const loss = ops.mseLoss(model.forward(x), y);
  loss.backward();
  const out = new Map<string, { shape: number[]; data: Float32Array }>([['loss', { shape: [1], data: await loss.read() }]]);
  for (const [name, p] of model.namedParameters()) out.set(name, { shape: [...p.shape], data: await p.grad!.read() });
  writeSafetensors(opts.output, out, { loss: String(out.get('loss')!.data[0]) });
  console.log(`loss ${out.get('loss')!.data[0]}; wrote ${out.size - 1} gradients to ${opts.output}`);
  model.dispose();
  device.destroy();
}
