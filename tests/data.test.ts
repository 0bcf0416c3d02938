import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Random } from '../engine/random.ts';
import { encodePng } from '../train/image.ts';
import { blurImage, randomKernel, validCrop } from '../train/data/blur.ts';
import { DatasetError, openDataset } from '../train/data/dataset.ts';
import { readPngHeader } from '../train/png.ts';
import { BatchLoader, type Batch } from '../train/data/loader.ts';
import { assertClose, assertThrows } from './helpers.ts';

// ---------------------------------------------------------------------------------------------
// float64 references

function srgbToLinearRef(c: number): number {
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

function linearToSrgbRef(l: number): number {
  l = Math.min(1, Math.max(0, l));
  return l <= 0.0031308 ? 12.92 * l : 1.055 * l ** (1 / 2.4) - 0.055;
}

/** Valid-region true convolution in linear light: out(y,x) = Σ K(i,j)·in(y+k−1−i, x+k−1−j). */
function blurRef(rgb: Float32Array, h: number, w: number, kernel: Float32Array, k: number): Float64Array {
  const oh = h - k + 1;
  const ow = w - k + 1;
  const out = new Float64Array(3 * oh * ow);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        let s = 0;
        for (let i = 0; i < k; i++) {
          for (let j = 0; j < k; j++) s += kernel[i * k + j] * srgbToLinearRef(rgb[(c * h + y + k - 1 - i) * w + x + k - 1 - j]);
        }
        out[(c * oh + y) * ow + x] = linearToSrgbRef(s);
      }
    }
  }
  return out;
}

function randomImage(seed: number, h: number, w: number, levels = 255): Float32Array {
  const r = new Random(seed);
  return Float32Array.from({ length: 3 * h * w }, () => r.int(levels + 1) / levels);
}

function sameArrays(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Kernels and blur

test('randomKernel: non-negative, sums to 1, centred, deterministic', async () => {
  for (const size of [1, 3, 7, 15, 31]) {
    for (let seed = 0; seed < 12; seed++) {
      const kernel = randomKernel(new Random(seed), size);
      assert.is(kernel.length, size * size);
      let sum = 0;
      let mx = 0;
      let my = 0;
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const v = kernel[y * size + x];
          assert.ok(v >= 0, `size ${size} seed ${seed}: negative tap ${v}`);
          sum += v;
          mx += v * x;
          my += v * y;
        }
      }
      assert.ok(Math.abs(sum - 1) <= 1e-6, `size ${size} seed ${seed}: sum ${sum}`);
      const c = (size - 1) / 2;
      assert.ok(Math.abs(mx / sum - c) <= 0.05 && Math.abs(my / sum - c) <= 0.05, `size ${size} seed ${seed}: centre of mass (${mx / sum}, ${my / sum}), want ${c}`);
      assert.ok(sameArrays(kernel, randomKernel(new Random(seed), size)), 'same seed, same kernel');
    }
  }
  const a = randomKernel(new Random(1), 31);
  const b = randomKernel(new Random(2), 31);
  assert.not.ok(sameArrays(a, b), 'different seeds give different kernels');
  // Real camera shake: spread over more than a few pixels, but far from filling the grid.
  let taps = 0;
  for (const v of a) if (v > 0) taps++;
  assert.ok(taps > 4 && taps < 31 * 31 / 2, `31×31 kernel has ${taps} non-zero taps`);
  await assertThrows(() => randomKernel(new Random(0), 4), RangeError, 'odd');
  await assertThrows(() => randomKernel(new Random(0), 0), RangeError, 'odd');
  await assertThrows(() => randomKernel(new Random(0), 9, { exposure: 0 }), RangeError, 'exposure');
});

test('blurImage matches a float64 linear-light valid convolution', async () => {
  for (const [h, w, k, seed] of [[13, 17, 5, 1], [9, 9, 9, 2], [20, 11, 7, 3]]) {
    const rgb = randomImage(seed, h, w);
    const kernel = randomKernel(new Random(seed + 100), k, { length: k });
    const out = blurImage(rgb, h, w, kernel, k);
    assert.equal([out.h, out.w], [h - k + 1, w - k + 1]);
    assertClose(out.rgb, blurRef(rgb, h, w, kernel, k), `blur ${h}×${w} k${k}`, { rtol: 0, atol: 2e-6 });
  }
  // A single off-centre tap tells convolution from correlation: tap (0,0) reads input (y+k−1, x+k−1).
  const rgb = randomImage(5, 8, 10);
  const corner = new Float32Array(9);
  corner[0] = 1;
  const shifted = blurImage(rgb, 8, 10, corner, 3);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < 6; y++) {
      for (let x = 0; x < 8; x++) {
        assert.ok(Math.abs(shifted.rgb[(c * 6 + y) * 8 + x] - rgb[(c * 8 + y + 2) * 10 + x + 2]) < 1e-6, 'corner tap');
      }
    }
  }
  // Samples that are not 8- or 16-bit levels take the exact formula.
  const odd = Float32Array.from({ length: 3 * 6 * 6 }, (_, i) => Math.fround((i * 0.0137) % 1));
  const odd3 = randomKernel(new Random(9), 3);
  assertClose(blurImage(odd, 6, 6, odd3, 3).rgb, blurRef(odd, 6, 6, odd3, 3), 'unquantised input', { rtol: 0, atol: 2e-6 });
});

test('blurImage: delta kernel is the identity on the valid crop, constants stay constant, noise is seeded', async () => {
  const h = 23;
  const w = 19;
  const k = 5;
  const rgb = randomImage(7, h, w, 65535);
  const delta = new Float32Array(k * k);
  delta[(k * k - 1) / 2] = 1;
  const out = blurImage(rgb, h, w, delta, k);
  const sharp = validCrop(rgb, h, w, k);
  assert.equal([sharp.h, sharp.w], [out.h, out.w]);
  assertClose(out.rgb, sharp.rgb, 'delta blur', { rtol: 0, atol: 1e-6 });

  const kernel = randomKernel(new Random(3), 9);
  for (const v of [0, 0.01, 0.2, 0.5, 0.73, 1]) {
    const flat = new Float32Array(3 * 12 * 14).fill(v);
    const blurred = blurImage(flat, 12, 14, kernel, 9).rgb;
    assertClose(blurred, new Float32Array(blurred.length).fill(v), `constant ${v}`, { rtol: 0, atol: 1e-6 });
  }

  const noisy = (seed: number) => blurImage(rgb, h, w, kernel, 9, { noiseStd: 0.01, rng: new Random(seed) }).rgb;
  const a = noisy(4);
  assert.ok(sameArrays(a, noisy(4)), 'same seed, same blurred output');
  assert.not.ok(sameArrays(a, noisy(5)), 'different noise seed, different output');
  assert.ok(a.every((v) => v >= 0 && v <= 1), 'clamped to [0,1]');
  const clean = blurImage(rgb, h, w, kernel, 9).rgb;
  let sq = 0;
  for (let i = 0; i < a.length; i++) sq += (a[i] - clean[i]) ** 2;
  const std = Math.sqrt(sq / a.length);
  assert.ok(std > 0.007 && std < 0.013, `noise std ${std}`);

  await assertThrows(() => blurImage(rgb, h, w, kernel, 9, { noiseStd: 0.01 }), RangeError, 'rng');
  await assertThrows(() => blurImage(rgb, h, w, kernel, 7), RangeError, 'kernel');
  await assertThrows(() => blurImage(rgb.subarray(0, 10), h, w, delta, k), RangeError, 'rgb');
  await assertThrows(() => blurImage(randomImage(1, 4, 30), 4, 30, delta, k), RangeError, 'smaller');
});

// ---------------------------------------------------------------------------------------------
// Datasets on disk

const tmp = mkdtempSync(join(tmpdir(), 'lmfn-data-test-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

/** A PNG whose pixels encode `tag` (so pairs can be told apart) and whose blur is 1 − sharp. */
function writePng(path: string, w: number, h: number, tag: number, invert = false): void {
  mkdirSync(join(path, '..'), { recursive: true });
  const rgb = new Float32Array(3 * w * h);
  for (let i = 0; i < rgb.length; i++) {
    const v = ((tag * 37 + i * 11) % 256) / 255;
    rgb[i] = invert ? (255 - Math.round(v * 255)) / 255 : v;
  }
  writeFileSync(path, encodePng({ width: w, height: h, rgb, alpha: null, bitDepth: 8, channels: 'rgb' }));
}

function writePair(dir: string, name: string, w: number, h: number, tag: number): void {
  writePng(join(dir, 'sharp', name), w, h, tag);
  writePng(join(dir, 'blur', name), w, h, tag, true);
}

function problemsOf(source: string): string[] {
  try {
    openDataset(source);
  } catch (e) {
    if (e instanceof DatasetError) return e.problems;
    throw e;
  }
  throw new Error(`${source}: expected a DatasetError`);
}

test('flat layout: pairs matched by name, every 10th held out, validation pairs trimmed to the size rule', async () => {
  const dir = join(tmp, 'flat');
  for (let i = 0; i < 12; i++) writePair(dir, `f${String(i).padStart(2, '0')}.png`, 83, 70, i);
  writeFileSync(join(dir, 'blur', 'notes.txt'), 'not an image');
  const ds = openDataset(dir);
  assert.is(ds.spec.kind, 'flat');
  assert.is(ds.train.count, 11);
  assert.is(ds.val.count, 1);
  assert.is(ds.val.name(0), 'f09.png');
  assert.ok(ds.describe().includes('11 training pairs') && ds.describe().includes('held out'), ds.describe());
  const p = ds.train.pair(3);
  assert.is(p.name, 'f03.png');
  assert.equal([p.width, p.height], [83, 70]);
  for (let i = 0; i < p.sharp.length; i++) assert.ok(Math.abs(p.blur[i] - (1 - p.sharp[i])) < 1e-6, 'partner of f03');
  assert.ok(Math.abs(p.sharp[5] - ((3 * 37 + 5 * 11) % 256) / 255) < 1e-6, 'f03 pixels');
  const v = ds.val.pair(0);
  assert.equal([v.width, v.height], [80, 64]);
  assert.is(v.sharp.length, 3 * 80 * 64);
  await assertThrows(() => ds.train.pair(11), RangeError, 'out of range');

  const single = join(tmp, 'flat-single');
  writePair(single, 'only.png', 64, 64, 0);
  const one = openDataset(single);
  assert.equal([one.train.count, one.val.count], [1, 0]);
});

test('GoPro layout: sequences under train/ and test/', async () => {
  const root = join(tmp, 'gopro');
  writePair(join(root, 'train', 'SEQ_B'), '000002.png', 96, 80, 1);
  writePair(join(root, 'train', 'SEQ_A'), '000001.png', 96, 80, 2);
  writePair(join(root, 'train', 'SEQ_A'), '000002.png', 96, 80, 3);
  writePair(join(root, 'test', 'SEQ_C'), '000001.png', 100, 72, 4);
  mkdirSync(join(root, 'train', 'SEQ_A', 'blur_gamma'), { recursive: true });
  const ds = openDataset(root);
  assert.is(ds.spec.kind, 'gopro');
  assert.equal(ds.train.entries.map((e) => e.name), ['train/SEQ_A/000001.png', 'train/SEQ_A/000002.png', 'train/SEQ_B/000002.png']);
  assert.equal(ds.val.entries.map((e) => e.name), ['test/SEQ_C/000001.png']);
  const v = ds.val.pair(0);
  assert.equal([v.width, v.height], [96, 64]);
  assert.ok(ds.describe().startsWith('GoPro layout'), ds.describe());
});

test('validation reports every problem by file name in one DatasetError', async () => {
  const dir = join(tmp, 'broken');
  writePair(dir, 'good.png', 64, 64, 0);
  writePng(join(dir, 'blur', 'lonely-blur.png'), 64, 64, 1);
  writePng(join(dir, 'sharp', 'lonely-sharp.png'), 64, 64, 2);
  writePng(join(dir, 'blur', 'mismatch.png'), 64, 64, 3);
  writePng(join(dir, 'sharp', 'mismatch.png'), 80, 64, 3);
  writePair(dir, 'garbage.png', 64, 64, 4);
  writeFileSync(join(dir, 'sharp', 'garbage.png'), 'this is not a png at all');
  writePair(dir, 'truncated.png', 64, 64, 5);
  const full = readFileSync(join(dir, 'blur', 'truncated.png'));
  writeFileSync(join(dir, 'blur', 'truncated.png'), full.subarray(0, full.length - 20));
  writePair(dir, 'empty.png', 64, 64, 6);
  writeFileSync(join(dir, 'blur', 'empty.png'), '');

  const problems = problemsOf(dir);
  const expect = [
    ['blur/lonely-blur.png', 'no sharp partner'],
    ['sharp/lonely-sharp.png', 'no blurred partner'],
    ['blur/mismatch.png', '64×64 differs', '80×64'],
    ['sharp/garbage.png', 'not a PNG'],
    ['blur/truncated.png', 'truncated'],
    ['blur/empty.png', 'not a PNG'],
  ];
  assert.is(problems.length, expect.length, problems.join('\n'));
  for (const parts of expect) assert.ok(problems.some((p) => parts.every((s) => p.includes(s))), `no problem mentions ${parts.join(' + ')}:\n${problems.join('\n')}`);
  await assertThrows(() => openDataset(dir), DatasetError, `${expect.length} problems`, 'lonely-blur.png', 'garbage.png');

  const emptyDir = join(tmp, 'empty');
  mkdirSync(emptyDir);
  await assertThrows(() => openDataset(emptyDir), DatasetError, 'unknown layout');
  mkdirSync(join(emptyDir, 'blur'));
  mkdirSync(join(emptyDir, 'sharp'));
  await assertThrows(() => openDataset(emptyDir), DatasetError, 'no .png pairs');
  const halfFlat = join(tmp, 'half');
  writePng(join(halfFlat, 'blur', 'a.png'), 64, 64, 0);
  await assertThrows(() => openDataset(halfFlat), DatasetError, 'no sharp/');
  await assertThrows(() => openDataset(join(tmp, 'does-not-exist')), DatasetError, 'no such directory');
  const goproEmpty = join(tmp, 'gopro-empty');
  mkdirSync(join(goproEmpty, 'train', 'SEQ'), { recursive: true });
  await assertThrows(() => openDataset(goproEmpty), DatasetError, 'train/SEQ', 'neither');
  const tiny = join(tmp, 'tiny-val');
  writePair(tiny, 'a.png', 64, 64, 0);
  writePair(tiny, 'b.png', 40, 64, 1);
  await assertThrows(() => openDataset(tiny), DatasetError, 'b.png', 'at least 64');
});

test('pixel data corrupt behind an intact header fails on decoding, naming the file', async () => {
  const dir = join(tmp, 'bad-idat');
  writePair(dir, 'a.png', 64, 64, 0);
  writePair(dir, 'b.png', 64, 64, 1);
  const path = join(dir, 'blur', 'a.png');
  const bytes = readFileSync(path);
  const idat = bytes.indexOf('IDAT');
  for (let i = idat + 8; i < idat + 40; i++) bytes[i] ^= 0x5a;
  writeFileSync(path, bytes);
  assert.equal(readPngHeader(path), { width: 64, height: 64 });
  const ds = openDataset(dir);
  await assertThrows(() => ds.train.pair(0), DatasetError, 'blur/a.png', 'corrupt');
  const loader = new BatchLoader(ds, { batch: 1, crop: 64, flips: false, seed: 0, workers: 1 });
  try {
    await assertThrows(() => loader.next(), DatasetError, 'blur/a.png', 'corrupt');
  } finally {
    await loader.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Loader

const defaults = openDataset('default');

function assertBatch(b: Batch, n: number, crop: number, index: number): void {
  assert.equal(b.shape, [n, 3, crop, crop]);
  assert.is(b.index, index);
  assert.is(b.blur.length, n * 3 * crop * crop);
  assert.is(b.sharp.length, n * 3 * crop * crop);
  for (const x of [b.blur, b.sharp]) assert.ok(x.every((v) => v >= 0 && v <= 1), 'values in [0,1]');
  assert.not.ok(sameArrays(b.blur, b.sharp), 'blur differs from sharp');
}

async function take(loader: BatchLoader, n: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for (let i = 0; i < n; i++) out.push(await loader.next());
  return out;
}

test('default data: 8 training photos, 2 fixed validation crops', async () => {
  assert.is(defaults.spec.kind, 'default');
  assert.is(defaults.train.count, 8);
  assert.equal(defaults.val.entries.map((e) => e.name), ['chelsea.png', 'coffee.png']);
  assert.ok(defaults.synthetic);
  assert.ok(defaults.describe().startsWith('default data'), defaults.describe());
  const a = defaults.val.pair(1);
  assert.equal([a.width, a.height], [256, 256]);
  assert.ok(sameArrays(a.blur, defaults.val.pair(1).blur), 'fixed validation blur');
});

test('loader: shapes, range, same batches for the same seed with or without workers, exact resume', async () => {
  const options = { batch: 4, crop: 64, flips: true, seed: 1234 };
  const threaded = new BatchLoader(defaults, { ...options, workers: 1 });
  const inline = new BatchLoader(defaults, { ...options, workers: 0 });
  const resumed = new BatchLoader(defaults, { ...options, workers: 0, startBatch: 3 });
  const other = new BatchLoader(defaults, { ...options, workers: 0, seed: 99 });
  try {
    const a = await take(threaded, 5);
    const b = await take(inline, 5);
    a.forEach((batch, i) => assertBatch(batch, 4, 64, i));
    for (let i = 0; i < 5; i++) {
      assert.ok(sameArrays(a[i].blur, b[i].blur) && sameArrays(a[i].sharp, b[i].sharp), `batch ${i} is the same in a worker and inline`);
    }
    assert.not.ok(sameArrays(a[0].sharp, a[1].sharp), 'consecutive batches differ');
    assert.is(threaded.position, 5);
    const r = await take(resumed, 2);
    assert.equal(r.map((x) => x.index), [3, 4]);
    assert.ok(sameArrays(r[0].blur, a[3].blur) && sameArrays(r[0].sharp, a[3].sharp), 'startBatch 3 reproduces batch 3');
    assert.ok(sameArrays(r[1].blur, a[4].blur), 'and continues with batch 4');
    assert.not.ok(sameArrays((await other.next()).sharp, a[0].sharp), 'another seed, other batches');

    const vals: string[] = [];
    for await (const v of threaded.valBatches()) {
      assert.equal(v.shape, [1, 3, 256, 256]);
      assert.ok(sameArrays(v.blur, defaults.val.pair(vals.length).blur), 'validation from a worker matches the split');
      vals.push(v.name);
    }
    assert.equal(vals, ['chelsea.png', 'coffee.png']);
  } finally {
    await Promise.all([threaded, inline, resumed, other].map((l) => l.close()));
  }
  await assertThrows(() => threaded.next(), Error, 'close');
});

test('loader: blur and sharp crops are aligned and flipped together', async () => {
  // Synthetic: a 1×1 kernel without noise makes the blur equal to its sharp crop.
  const synthetic = new BatchLoader(defaults, { batch: 3, crop: 64, flips: true, seed: 5, kernelSize: 1, noiseStd: 0, workers: 0 });
  const s = await synthetic.next();
  assertClose(s.blur, s.sharp, 'identity blur', { rtol: 0, atol: 1e-6 });
  // Paired: blur is 1 − sharp pixel for pixel, so any crop or flip mismatch shows.
  const paired = openDataset(join(tmp, 'flat'));
  const loader = new BatchLoader(paired, { batch: 6, crop: 64, flips: true, seed: 3, workers: 0 });
  for (const b of await take(loader, 3)) {
    assertBatch(b, 6, 64, b.index);
    for (let i = 0; i < b.blur.length; i++) assert.ok(Math.abs(b.blur[i] + b.sharp[i] - 1) < 1e-6, `paired crop ${i}`);
  }
  // Flips only change orientation: with them off, the same sample is the same crop, unflipped.
  const plain = await new BatchLoader(paired, { batch: 6, crop: 64, flips: false, seed: 3, workers: 0 }).next();
  const flipped = await new BatchLoader(paired, { batch: 6, crop: 64, flips: true, seed: 3, workers: 0 }).next();
  const sampleSum = (x: Float32Array, n: number) => x.subarray(n * 3 * 64 * 64, (n + 1) * 3 * 64 * 64).reduce((p, v) => p + v, 0);
  for (let n = 0; n < 6; n++) assert.ok(Math.abs(sampleSum(plain.sharp, n) - sampleSum(flipped.sharp, n)) < 1e-2, `sample ${n}: same crop`);
});

test('loader: bad options and images too small for the crop', async () => {
  await assertThrows(() => new BatchLoader(defaults, { batch: 2, crop: 72, flips: false, seed: 0, workers: 0 }), RangeError, 'multiple of 16');
  await assertThrows(() => new BatchLoader(defaults, { batch: 0, crop: 64, flips: false, seed: 0, workers: 0 }), RangeError, 'batch');
  await assertThrows(() => new BatchLoader(defaults, { batch: 1, crop: 48, flips: false, seed: 0, workers: 0 }), RangeError, 'crop');
  await assertThrows(() => new BatchLoader(defaults, { batch: 1, crop: 64, flips: false, seed: 0, kernelSize: 8, workers: 0 }), RangeError, 'odd');
  await assertThrows(() => new BatchLoader(defaults, { batch: 1, crop: 288, flips: false, seed: 0, workers: 0 }), DatasetError, 'seeding_by_Clements_Engelhardt.png', '318×318');
  await assertThrows(() => new BatchLoader(openDataset(join(tmp, 'flat')), { batch: 1, crop: 96, flips: false, seed: 0, workers: 0 }), DatasetError, 'f00.png', '83×70');
});

test.run();
