import { existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { autoTile, deblur } from '../../../model/deblur.ts';
import { helpText, parseFlags, UsageError } from '../args.ts';
import { listImages, readImage, writeImage } from '../../image.ts';
import { loadModel, openDevice, requireFile } from './common.ts';
import { stderrIsTerminal } from '../../progress.ts';

export const summary = 'deblur PNG images (or a .safetensors image) with trained weights';
const flags = {
  weights: { type: 'string', help: 'LMFN weights (.safetensors)', required: true },
  input: { type: 'string', help: 'a PNG or .safetensors image, or a directory of PNGs', required: true },
  output: { type: 'string', help: 'output file, or directory (created) for a directory input', required: true },
  tile: { type: 'number', help: 'tile size (multiple of 16, ≥ 64); 0 = whole image at once; default: whole image when it fits the adapter' },
  overlap: { type: 'number', help: 'overlap between tiles in pixels', default: 32 },
} as const;
export const help = helpText(
  'lmfn deblur --weights W --input IN --output OUT [--tile N]',
  'Deblurs images of any size: 8/16-bit grey, RGB or RGBA PNGs (alpha passes through unchanged), or a .safetensors file\n' +
    'holding one tensor `image` [1,3,H,W] float32 (written back unclamped). Images are replicate-padded to the size rule\n' +
    'and cropped back. Large images run in overlapping tiles (bounded memory, blended seams); ALFM attends over the whole\n' +
    'input, so only --tile 0 matches another framework exactly.',
  flags,
);

function outputPaths(input: string, output: string): [string, string][] {
  const inputs = listImages(input);
  const inputIsDir = statSync(input).isDirectory();
  const outputIsDir = inputIsDir || (existsSync(output) && statSync(output).isDirectory()) || extname(output) === '';
  if (!outputIsDir) {
    if (!['.png', '.safetensors'].includes(extname(output).toLowerCase())) {
      throw new UsageError(`deblur: --output must end in .png or .safetensors, or be a directory: ${output}`);
    }
    return [[inputs[0], output]];
  }
  mkdirSync(output, { recursive: true });
  return inputs.map((p) => [p, join(output, basename(p))]);
}

export async function run(argv: string[]): Promise<void> {
  const opts = parseFlags('deblur', flags, argv);
  requireFile(opts.input, 'input');
  if (opts.tile !== undefined && opts.tile !== 0 && (opts.tile % 16 !== 0 || opts.tile < 64)) {
    throw new UsageError(`deblur: --tile must be 0 or a multiple of 16 that is at least 64, got ${opts.tile}`);
  }
  const jobs = outputPaths(opts.input, opts.output);
  const device = await openDevice();
  const model = loadModel(device, opts.weights);
  for (const [src, dst] of jobs) {
    const image = readImage(src);
    const tile = opts.tile ?? autoTile(device, image.height, image.width);
    const t0 = performance.now();
    const rgb = await deblur(model, image.rgb, image.height, image.width, {
      tile,
      overlap: opts.overlap,
      onTile: stderrIsTerminal() ? (done, total) => total > 1 && process.stderr.write(`\r  tile ${done}/${total}`) : undefined,
    });
    if (stderrIsTerminal()) process.stderr.write('\r\x1b[K');
    writeImage(dst, { ...image, rgb });
    const how = tile === 0 ? 'whole image' : `${tile}px tiles`;
    console.log(`${src} → ${dst}  ${image.width}×${image.height}, ${how}, ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  }
  model.dispose();
  device.destroy();
}
