import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../train/cli/args.ts';
import { run as evalRun, findPairs } from '../train/cli/commands/eval.ts';
import { readImage, writeImage } from '../train/image.ts';
import { psnr, ssim } from '../train/metrics.ts';
import { lossPlotSvg, sideBySide } from '../train/plot.ts';
import { LMFN } from '../model/lmfn.ts';
import { saveWeights } from '../train/weights.ts';
import { deblur } from '../model/deblur.ts';
import { assertThrows, rng, testDevice } from './helpers.ts';
import { ssimDirect, testImages } from './ref/ssim.ts';

const r = rng(5);
const filled = (n: number, v: number) => new Float32Array(n).fill(v);
const close = (actual: number, expected: number, tol: number, what: string) => {
  if (!(Math.abs(actual - expected) <= tol)) throw new Error(`${what}: ${actual}, expected ${expected} (±${tol})`);
};

// ---------------------------------------------------------------------------------------------
// PSNR

test('psnr: known MSE', () => {
  // Differences exactly representable in float32, so the expected MSE is exact.
  close(psnr(filled(7, 0.5), filled(7, 0.625)), 10 * Math.log10(64), 1e-12, 'uniform 0.125 error');
  const a = Float32Array.from({ length: 10 }, (_, i) => (i % 2 ? 0.25 : 0.75));
  const b = Float32Array.from({ length: 10 }, (_, i) => (i % 2 ? 0.5 : 0.75));
  close(psnr(a, b), 10 * Math.log10(1 / (0.0625 / 2)), 1e-12, 'half the values off by 0.25');
  close(psnr(filled(5, 100), filled(5, 116), undefined, 255), 10 * Math.log10(255 ** 2 / 256), 1e-12, 'peak 255');
  // Only the first n values count.
  close(psnr(Float32Array.of(0.5, 0.5, 0), Float32Array.of(0.75, 0.75, 1), 2), 10 * Math.log10(16), 1e-12, 'n = 2');
});

test('psnr: identical gives Infinity; clamps to [0, peak] first', () => {
  assert.is(psnr(filled(4, 0.3), filled(4, 0.3)), Infinity);
  assert.is(psnr(Float32Array.of(1.5, -0.2), Float32Array.of(1, 0)), Infinity);
  close(psnr(Float32Array.of(2), Float32Array.of(0.5)), 10 * Math.log10(4), 1e-12, 'clamped 2 → 1');
});

test('psnr: matches skimage peak_signal_noise_ratio', () => {
  // skimage 0.19.3, data_range=1, on the same pixels (tests/ref/ssim.ts testImages).
  const { sharp, blurred, noisy } = testImages(1, 3, 23, 31);
  close(psnr(blurred, sharp), 17.870967710567182, 1e-9, 'blurred');
  close(psnr(noisy, sharp), 25.263883650012833, 1e-9, 'noisy');
});

test('psnr: bad use', async () => {
  await assertThrows(() => psnr(new Float32Array(3), new Float32Array(4)), RangeError, 'psnr', '3', '4');
  await assertThrows(() => psnr(new Float32Array(3), new Float32Array(3), 4), RangeError, 'n = 4');
  await assertThrows(() => psnr(new Float32Array(3), new Float32Array(3), undefined, 0), RangeError, 'peak');
});

// ---------------------------------------------------------------------------------------------
// SSIM

test('ssim: identical images give 1', () => {
  const x = Float32Array.from(r.uniform(3 * 19 * 27, 0, 1));
  close(ssim(x, x, 19, 27), 1, 1e-12, 'ssim(x, x)');
});

test('ssim: symmetric', () => {
  const { sharp, noisy } = testImages(7, 3, 17, 29);
  assert.is(ssim(sharp, noisy, 17, 29), ssim(noisy, sharp, 17, 29));
});

test('ssim: constant images, by hand', () => {
  // Zero variances: the structure term is C2/C2 = 1 and SSIM = (2μxμy + C1)/(μx² + μy² + C1).
  const C1 = 1e-4;
  const expected = (2 * 0.25 * 0.5 + C1) / (0.25 ** 2 + 0.5 ** 2 + C1);
  close(ssim(filled(3 * 12 * 15, 0.25), filled(3 * 12 * 15, 0.5), 12, 15), expected, 1e-12, 'μ 0.25 vs 0.5');
  // One channel different: the channel mean averages it with two perfect channels.
  const a = filled(3 * 11 * 11, 0.5);
  const b = filled(3 * 11 * 11, 0.5);
  b.fill(0.25, 0, 121);
  close(ssim(a, b, 11, 11), (expected + 2) / 3, 1e-12, 'one channel off');
  // Out-of-range values are clamped: 1.7 scores as 1, −3 as 0.
  close(ssim(filled(144, 1.7), filled(144, 0.5), 12, 12, 1), (2 * 0.5 + C1) / (1 + 0.25 + C1), 1e-12, 'clamped high');
  close(ssim(filled(144, -3), filled(144, 0.5), 12, 12, 1), C1 / (0.25 + C1), 1e-12, 'clamped low');
});

test('ssim: against the direct float64 windowed formula', () => {
  for (const [seed, c, h, w] of [[11, 3, 13, 21], [12, 1, 11, 11], [13, 2, 24, 11], [14, 3, 30, 19]]) {
    const { sharp, blurred, noisy } = testImages(seed, c, h, w);
    // Unclamped values too: a network output strays outside [0,1].
    const wild = Float32Array.from(r.uniform(c * h * w, -0.3, 1.3));
    for (const [name, x, y] of [['blurred', blurred, sharp], ['noisy', noisy, sharp], ['wild', wild, blurred]] as const) {
      close(ssim(x, y, h, w, c), ssimDirect(x, y, h, w, c), 1e-12, `${c}×${h}×${w} ${name}`);
    }
  }
});

test('ssim: matches skimage structural_similarity (gaussian_weights, σ 1.5, population covariance, data_range 1)', () => {
  // Values printed by skimage 0.19.3 for the same pixels (float64 copies of these float32 images).
  const one = testImages(1, 3, 23, 31);
  close(ssim(one.blurred, one.sharp, 23, 31), 0.7657543998559775, 1e-12, 'seed 1 blurred');
  close(ssim(one.noisy, one.sharp, 23, 31), 0.9598270147880715, 1e-12, 'seed 1 noisy');
  const two = testImages(2, 1, 11, 11);
  close(ssim(two.noisy, two.sharp, 11, 11, 1), 0.9811004650662338, 1e-12, 'seed 2, one 11×11 window');
  const three = testImages(3, 3, 40, 37);
  close(ssim(three.blurred, three.sharp, 40, 37), 0.76966510603937, 1e-12, 'seed 3 blurred');
  close(ssim(three.noisy, three.blurred, 40, 37), 0.7350748075950979, 1e-12, 'seed 3 noisy vs blurred');
});

test('ssim: 720×1280 RGB in reasonable time', () => {
  const n = 3 * 720 * 1280;
  const a = Float32Array.from({ length: n }, (_, i) => ((i * 2654435761) % 1000) / 1000);
  const b = a.map((v, i) => v + ((i % 7) - 3) * 0.01);
  const t0 = performance.now();
  const s = ssim(a, b, 720, 1280);
  const ms = performance.now() - t0;
  assert.ok(s > 0 && s < 1, `ssim ${s}`);
  // Separable filtering takes well under a second; the direct 121-tap form would take a minute.
  assert.ok(ms < 8000, `took ${ms.toFixed(0)} ms`);
});

test('ssim: bad use', async () => {
  await assertThrows(() => ssim(new Float32Array(3 * 10 * 20), new Float32Array(3 * 10 * 20), 10, 20), RangeError, '10×20', '11×11');
  await assertThrows(() => ssim(new Float32Array(3 * 12 * 12), new Float32Array(3 * 12 * 13), 12, 12), RangeError, '432', '468');
  await assertThrows(() => ssim(new Float32Array(2 * 12 * 12), new Float32Array(2 * 12 * 12), 12, 12), RangeError, '3×12×12');
});

// ---------------------------------------------------------------------------------------------
// Pictures

test('lossPlotSvg: self-contained SVG with both axes, the reference line and a legend', () => {
  const series = Array.from({ length: 3001 }, (_, i) => ({
    step: i * 10,
    loss: 0.02 * Math.exp(-i / 1000) + 0.001 * (1 + r.next()),
    ...(i % 250 === 0 ? { valPsnr: 25 + i / 1000, blurPsnr: 25.5 } : {}),
  }));
  const svg = lossPlotSvg(series);
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  for (const s of ['training loss', 'validation PSNR', 'blurred input PSNR', 'step', 'stroke-dasharray', '30k', '0.01']) assert.ok(svg.includes(s), `lacks "${s}"`);
  assert.not.ok(/href|<script|NaN|Infinity/.test(svg), 'no external references, scripts or non-numbers');
  // 3001 loss points are drawn as at most one vertex per pixel column.
  const lossLine = svg.split('\n').find((l) => l.startsWith('<polyline') && l.includes('#1f77b4'))!;
  assert.ok(lossLine.split(' ').length < 800, 'loss line binned to pixel columns');
  // Balanced tags: every opened element is closed.
  const opens = (svg.match(/<[a-zA-Z]/g) ?? []).length;
  const closes = (svg.match(/<\/|\/>/g) ?? []).length;
  assert.is(opens, closes);
});

test('lossPlotSvg: partial and empty series', () => {
  assert.ok(lossPlotSvg([]).includes('no data'));
  const lossOnly = lossPlotSvg([{ step: 0, loss: 0.5 }, { step: 1, loss: 0 }, { step: 2, loss: NaN }, { step: 3, loss: 0.25 }]);
  // Legend entries and axis titles only for the series present.
  assert.ok(lossOnly.includes('>training loss<') && lossOnly.includes('log scale') && !lossOnly.includes('>validation PSNR<') && !lossOnly.includes('(dB)'));
  assert.not.ok(/NaN|Infinity/.test(lossOnly));
  const psnrOnly = lossPlotSvg([{ step: 5, valPsnr: 27 }]);
  assert.ok(psnrOnly.includes('>validation PSNR<') && psnrOnly.includes('(dB)') && !psnrOnly.includes('>training loss<') && !psnrOnly.includes('log scale'));
  assert.not.ok(/NaN|Infinity/.test(psnrOnly));
});

test('sideBySide: layout, gaps, clamping and labels', () => {
  const im = (h: number, w: number, v: number) => ({ rgb: filled(3 * h * w, v), h, w });
  const plain = sideBySide([[im(5, 7, 0.2), im(4, 3, 2)], [im(6, 2, -1)]]);
  // Columns as wide as their widest image, rows as tall as their tallest, 8-pixel gaps around all.
  assert.is(plain.w, 8 + 7 + 8 + 3 + 8);
  assert.is(plain.h, 8 + 5 + 8 + 6 + 8);
  const at = (c: number, y: number, x: number) => plain.rgb[(c * plain.h + y) * plain.w + x];
  close(at(0, 8, 8), 0.2, 1e-7, 'first image');
  assert.is(at(1, 8, 8 + 7 + 8), 1, 'value 2 clamped to 1');
  assert.is(at(2, 8 + 5 + 8, 8), 0, 'value −1 clamped to 0');
  assert.is(at(0, 7, 8), 1, 'gap is white');
  assert.is(at(0, 8 + 4, 8 + 7 + 8), 1, 'cell below a short image is background');
  const labelled = sideBySide([[im(20, 30, 0.5), im(20, 30, 0.5)]], ['blur', 'sharp']);
  assert.ok(labelled.h > 8 + 20 + 8, 'label band added');
  const band = labelled.rgb.subarray(0, labelled.w * (labelled.h - 20 - 8));
  assert.ok(band.some((v) => v === 0), 'label text drawn in black');
  assert.throws(() => sideBySide([]), /at least one image/);
  assert.throws(() => sideBySide([[{ rgb: new Float32Array(5), h: 2, w: 2 }]]), /\[0\]\[0\] is 2×2/);
  assert.throws(() => sideBySide([[im(2, 2, 0)]], ['a', 'b']), /2 labels for 1 columns/);
});

// ---------------------------------------------------------------------------------------------
// lmfn eval

const dir = mkdtempSync(join(tmpdir(), 'lmfn-eval-'));
const png = (path: string, rgb: Float32Array, h: number, w: number) => writeImage(path, { width: w, height: h, rgb, alpha: null, bitDepth: 8, channels: 'rgb' });

async function captureStdout(fn: () => Promise<void>): Promise<string> {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.join(' '));
  try {
    await fn();
  } finally {
    console.log = original;
  }
  return lines.join('\n');
}

test('eval: pairs flat and GoPro layouts by name; names every missing partner and size mismatch', async () => {
  // 64×64: openDataset holds flat validation pairs to LMFN's minimum size.
  const img = testImages(21, 3, 64, 64);
  const flat = join(dir, 'flat');
  for (const name of ['b.png', 'a.png', 'c.png']) {
    png(join(flat, 'blur', name), img.blurred, 64, 64);
    png(join(flat, 'sharp', name), img.sharp, 64, 64);
  }
  // All pairs, including those openDataset would hold out for validation.
  assert.equal(findPairs(flat).map((p) => p.name), ['a.png', 'b.png', 'c.png']);
  const gopro = join(dir, 'gopro');
  for (const seq of ['GOPR0410_11_00', 'GOPR0384_11_00']) {
    png(join(gopro, 'test', seq, 'blur', '000001.png'), img.blurred, 64, 64);
    png(join(gopro, 'test', seq, 'sharp', '000001.png'), img.sharp, 64, 64);
  }
  const names = ['GOPR0384_11_00/000001.png', 'GOPR0410_11_00/000001.png'];
  assert.equal(findPairs(gopro).map((p) => p.name), names, 'GoPro root without train/');
  mkdirSync(join(gopro, 'train', 'GOPR0372_07_00', 'blur'), { recursive: true });
  assert.equal(findPairs(gopro).map((p) => p.name), names, 'train/ is not read');
  assert.equal(findPairs(join(gopro, 'test')).map((p) => p.name), names, 'the test folder itself');

  const weights = join(dir, 'dummy.safetensors');
  writeFileSync(weights, 'not read: the data errors come first');
  rmSync(join(flat, 'sharp', 'c.png'));
  png(join(flat, 'sharp', 'd.png'), img.sharp, 64, 64);
  await assertThrows(() => evalRun(['--weights', weights, '--data', flat]), UsageError, '2 problem(s)', join('blur', 'c.png'), join('sharp', 'd.png'));
  rmSync(join(flat, 'blur', 'c.png'));
  rmSync(join(flat, 'sharp', 'd.png'));
  png(join(flat, 'sharp', 'b.png'), testImages(22, 3, 64, 65).sharp, 64, 65);
  await assertThrows(() => evalRun(['--weights', weights, '--data', flat]), UsageError, join('blur', 'b.png'), '64×64', '65×64');
  rmSync(join(flat, 'sharp', 'b.png'));
  rmSync(join(gopro, 'test', 'GOPR0410_11_00', 'blur', '000001.png'));
  await assertThrows(() => evalRun(['--weights', weights, '--data', gopro]), UsageError, 'GOPR0410_11_00/', join('sharp', '000001.png'));
  await assertThrows(() => evalRun(['--weights', weights, '--data', join(dir, 'nowhere')]), UsageError, 'not a directory');
  await assertThrows(() => evalRun(['--weights', weights, '--data', join(gopro, 'train', 'GOPR0372_07_00', 'blur')]), UsageError, 'neither blur/ and sharp/');
  await assertThrows(() => evalRun(['--weights', weights, '--data', join(dir, 'flat'), '--tile', '40']), UsageError, '--tile');
});

test('eval: end to end on two pairs (init weights): JSON rows, means and the table', async () => {
  const device = await testDevice();
  const model = new LMFN(device, { seed: 3 });
  const weights = join(dir, 'init.safetensors');
  await saveWeights(model, weights);
  const data = join(dir, 'e2e');
  // 64×64 (the model's own size) and 72×70 (padded to 80×80 and cropped back).
  const sizes: [string, number, number][] = [['one.png', 64, 64], ['two.png', 72, 70]];
  for (const [i, [name, h, w]] of sizes.entries()) {
    const { sharp, blurred } = testImages(30 + i, 3, h, w);
    png(join(data, 'blur', name), blurred, h, w);
    png(join(data, 'sharp', name), sharp, h, w);
  }
  const json = JSON.parse(await captureStdout(() => evalRun(['--weights', weights, '--data', data, '--json'])));
  assert.is(json.count, 2);
  assert.equal(json.images.map((row: { name: string }) => row.name), ['one.png', 'two.png']);
  for (const [i, [name, h, w]] of sizes.entries()) {
    const row = json.images[i];
    assert.equal([row.width, row.height], [w, h]);
    // Blurred-input scores, recomputed from the files by the float64 references.
    const blur = readImage(join(data, 'blur', name)).rgb;
    const sharp = readImage(join(data, 'sharp', name)).rgb;
    let se = 0;
    for (let k = 0; k < blur.length; k++) se += (blur[k] - sharp[k]) ** 2;
    close(row.blurPsnr, 10 * Math.log10(blur.length / se), 1e-9, `${name} blur PSNR`);
    close(row.blurSsim, ssimDirect(blur, sharp, h, w, 3), 1e-9, `${name} blur SSIM`);
    // Model scores: the same weights run here, scored by the float64 references on the clamped output.
    const out = (await deblur(model, blur, h, w, { tile: 0 })).map((v) => Math.min(1, Math.max(0, v)));
    let oe = 0;
    for (let k = 0; k < out.length; k++) oe += (out[k] - sharp[k]) ** 2;
    close(row.psnr, 10 * Math.log10(out.length / oe), 1e-4, `${name} model PSNR`);
    close(row.ssim, ssimDirect(out, sharp, h, w, 3), 1e-5, `${name} model SSIM`);
    assert.ok(row.psnr !== row.blurPsnr && row.ssim !== row.blurSsim, 'the model output is scored, not the input');
  }
  model.dispose();
  for (const k of ['psnr', 'ssim', 'blurPsnr', 'blurSsim']) close(json.mean[k], (json.images[0][k] + json.images[1][k]) / 2, 1e-12, `mean ${k}`);

  const table = await captureStdout(() => evalRun(['--weights', weights, '--data', data, '--tile', '64']));
  const lines = table.split('\n');
  assert.is(lines.length, 4, table);
  assert.ok(lines[0].includes('PSNR') && lines[0].includes('SSIM'));
  assert.ok(lines[1].startsWith('one.png') && lines[1].includes('64×64'));
  assert.ok(lines[2].startsWith('two.png') && lines[2].includes('70×72'));
  assert.ok(lines[3].startsWith('mean') && lines[3].includes(json.mean.blurPsnr.toFixed(2)) && lines[3].includes(json.mean.blurSsim.toFixed(4)));
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
