import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { autoTile, deblur } from '../../../model/deblur.ts';
import { helpText, parseFlags, UsageError } from '../args.ts';
import { DatasetError, decode, openDataset } from '../../data/dataset.ts';
import { psnr, ssim, SSIM_WINDOW } from '../../metrics.ts';
import { loadModel, openDevice, requireFile } from './common.ts';
import { stderrIsTerminal } from '../../progress.ts';

export const summary = 'PSNR and SSIM of the deblurred and the blurred images against the sharp ones';
const flags = {
  weights: { type: 'string', help: 'LMFN weights (.safetensors)', required: true },
  data: { type: 'string', help: 'DIR/{blur,sharp}/*.png, or GoPro: DIR/test/<seq>/{blur,sharp}/*.png', required: true },
  tile: { type: 'number', help: 'tile size (multiple of 16, ≥ 64); 0 = whole image at once; default: whole image when it fits the adapter' },
  json: { type: 'boolean', help: 'print one JSON object (per-image rows and means) instead of a table' },
} as const;
export const help = helpText(
  'lmfn eval --weights W --data DIR [--json] [--tile N]',
  'Deblurs every blurred image of DIR and scores it, and the blurred input itself, against the sharp image of the same\n' +
    'name: PSNR (dB) and SSIM (Wang et al. 2004: 11×11 Gaussian window, σ 1.5, 5-pixel border left out, channels\n' +
    'averaged; see train/metrics.ts), both on values clamped to [0,1], per image and as the mean over images. DIR holds\n' +
    'blur/ and sharp/ folders of PNGs, or is a GoPro root (DIR/test/<seq>/{blur,sharp}) or its test folder (DIR/<seq>/...).',
  flags,
);

export interface EvalPair {
  /** The file name, prefixed by its sequence in a GoPro layout. */
  name: string;
  blur: string;
  sharp: string;
  width: number;
  height: number;
}

export interface EvalRow {
  name: string;
  width: number;
  height: number;
  psnr: number;
  ssim: number;
  blurPsnr: number;
  blurSsim: number;
  seconds: number;
}

export type EvalMeans = Pick<EvalRow, 'psnr' | 'ssim' | 'blurPsnr' | 'blurSsim'>;

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();
const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Every pair of a blur/sharp folder, through the training data's own validation (partners, sizes, PNG headers). */
function folderPairs(dir: string, prefix: string, problems: string[]): EvalPair[] {
  try {
    // openDataset holds some flat pairs out for validation; eval scores all of them, uncropped.
    const { train, val } = openDataset(dir).spec;
    return [...train, ...val]
      .map((e) => ({ name: prefix + e.name, blur: e.blurPath!, sharp: e.sharpPath, width: e.width, height: e.height }))
      .sort((x, y) => byCodeUnit(x.name, y.name));
  } catch (e) {
    if (!(e instanceof DatasetError)) throw e;
    problems.push(...e.problems.map((p) => prefix + p));
    return [];
  }
}

/**
 * Blurred/sharp pairs of an evaluation set, matched by file name, in name
 * order. DIR/{blur,sharp}, or GoPro sequences DIR/test/<seq>/{blur,sharp} (a
 * train/ folder beside test/ is not read) or DIR/<seq>/{blur,sharp}. Every
 * missing partner and size mismatch is reported in one error naming the files:
 * a silently smaller test set would change the means.
 */
export function findPairs(dir: string): EvalPair[] {
  if (!isDir(dir)) throw new UsageError(`--data: not a directory: ${dir}`);
  const problems: string[] = [];
  let pairs: EvalPair[];
  if (isDir(join(dir, 'blur')) || isDir(join(dir, 'sharp'))) pairs = folderPairs(dir, '', problems);
  else {
    const split = isDir(join(dir, 'test')) ? join(dir, 'test') : dir;
    const sequences = readdirSync(split)
      .filter((n) => !n.startsWith('.') && (isDir(join(split, n, 'blur')) || isDir(join(split, n, 'sharp'))))
      .sort(byCodeUnit);
    if (sequences.length === 0) {
      throw new UsageError(`--data: ${dir} has neither blur/ and sharp/ folders nor GoPro sequences (test/<seq>/{blur,sharp} or <seq>/{blur,sharp})`);
    }
    pairs = sequences.flatMap((seq) => folderPairs(join(split, seq), `${seq}/`, problems));
  }
  for (const p of pairs) {
    if (p.width < SSIM_WINDOW || p.height < SSIM_WINDOW) problems.push(`${p.name}: ${p.width}×${p.height} is smaller than SSIM's ${SSIM_WINDOW}×${SSIM_WINDOW} window`);
  }
  if (problems.length) {
    const shown = problems.slice(0, 20).map((m) => `  ${m}`).join('\n');
    throw new UsageError(`eval: ${problems.length} problem(s) in ${dir}:\n${shown}${problems.length > 20 ? `\n  … and ${problems.length - 20} more` : ''}`);
  }
  return pairs;
}

export function means(rows: EvalRow[]): EvalMeans {
  const mean = (k: keyof EvalMeans) => rows.reduce((s, r) => s + r[k], 0) / rows.length;
  return { psnr: mean('psnr'), ssim: mean('ssim'), blurPsnr: mean('blurPsnr'), blurSsim: mean('blurSsim') };
}

const dB = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : String(v)).padStart(8);
const ratio = (v: number) => v.toFixed(4).padStart(7);

export async function run(argv: string[]): Promise<void> {
  const opts = parseFlags('eval', flags, argv);
  requireFile(opts.weights, 'weights');
  if (opts.tile !== undefined && opts.tile !== 0 && (opts.tile % 16 !== 0 || opts.tile < 64)) {
    throw new UsageError(`eval: --tile must be 0 or a multiple of 16 that is at least 64, got ${opts.tile}`);
  }
  const pairs = findPairs(opts.data);
  const device = await openDevice();
  const model = loadModel(device, opts.weights);
  const nameWidth = Math.max(5, ...pairs.map((p) => p.name.length));
  if (!opts.json) {
    console.log(`${'image'.padEnd(nameWidth)}  ${'size'.padStart(9)}  ${'PSNR'.padStart(8)} ${'SSIM'.padStart(7)}  ${'blur PSNR'.padStart(9)} ${'SSIM'.padStart(7)}  ${'time'.padStart(7)}`);
  }
  const rows: EvalRow[] = [];
  try {
    for (const [i, pair] of pairs.entries()) {
      const { width: w, height: h } = pair;
      // decode() names the file if it fails or changed size since findPairs read its header.
      const blur = decode(opts.data, pair.blur, pair.name, w, h);
      const sharp = decode(opts.data, pair.sharp, pair.name, w, h);
      const t0 = performance.now();
      const out = await deblur(model, blur.rgb, h, w, { tile: opts.tile ?? autoTile(device, h, w) });
      const seconds = (performance.now() - t0) / 1000;
      // The metrics clamp to [0,1] themselves: the model output is scored as a saved PNG would hold it.
      const row: EvalRow = {
        name: pair.name,
        width: w,
        height: h,
        psnr: psnr(out, sharp.rgb),
        ssim: ssim(out, sharp.rgb, h, w),
        blurPsnr: psnr(blur.rgb, sharp.rgb),
        blurSsim: ssim(blur.rgb, sharp.rgb, h, w),
        seconds,
      };
      rows.push(row);
      if (opts.json) {
        if (stderrIsTerminal()) process.stderr.write(`\r  ${i + 1}/${pairs.length}`);
      } else {
        console.log(
          `${row.name.padEnd(nameWidth)}  ${`${w}×${h}`.padStart(9)}  ${dB(row.psnr)} ${ratio(row.ssim)}  ${dB(row.blurPsnr).padStart(9)} ${ratio(row.blurSsim)}  ${`${seconds.toFixed(2)}s`.padStart(7)}`,
        );
      }
    }
  } finally {
    model.dispose();
    device.destroy();
  }
  const m = means(rows);
  if (opts.json) {
    if (stderrIsTerminal()) process.stderr.write('\r\x1b[K');
    // JSON has no Infinity: an image identical to its sharp partner has PSNR null.
    console.log(JSON.stringify({ weights: opts.weights, data: opts.data, count: rows.length, mean: m, images: rows }));
  } else {
    console.log(`${'mean'.padEnd(nameWidth)}  ${`${rows.length} img`.padStart(9)}  ${dB(m.psnr)} ${ratio(m.ssim)}  ${dB(m.blurPsnr).padStart(9)} ${ratio(m.blurSsim)}`);
  }
}
