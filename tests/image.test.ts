import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deflateSync } from 'node:zlib';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG, type ColorType } from 'pngjs';
import { ImageError, listImages, readImage, writeImage, type Image } from '../train/image.ts';
import { readSafetensors, writeSafetensors } from '../engine/node/index.ts';
import { rng } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'lmfn-image-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const r = rng(5);
const at = (name: string) => join(dir, name);

// ---------------------------------------------------------------------------------------------
// Fixtures: pngjs's writer for the kinds it can write, a hand-built PNG for the rest.

const randomSamples = (n: number, max: number) => Array.from({ length: n }, () => Math.floor(r.next() * (max + 1)));

/** Interleaved samples (RGB, RGBA, grey or grey+alpha) through pngjs's own writer. */
function pngjsFile(name: string, width: number, height: number, colorType: ColorType, bitDepth: 8 | 16, samples: number[]): string {
  const data = bitDepth === 16 ? new Uint16Array(samples) : Buffer.from(samples);
  const png = { width, height, data } as unknown as PNG;
  writeFileSync(at(name), PNG.sync.write(png, { colorType, inputColorType: colorType, bitDepth, inputHasAlpha: colorType === 4 || colorType === 6 }));
  return at(name);
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** A PNG from raw sample values per row (packed MSB-first at sub-byte depths, big-endian at 16), filter 0 on every row. */
function handPng(opts: { width: number; height: number; depth: number; colorType: number; interlace?: number; rows: number[][]; before?: Buffer[]; idat?: (zlib: Buffer) => Buffer[] }): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(opts.width, 0);
  ihdr.writeUInt32BE(opts.height, 4);
  ihdr[8] = opts.depth;
  ihdr[9] = opts.colorType;
  ihdr[12] = opts.interlace ?? 0;
  const raw: number[] = [];
  for (const row of opts.rows) {
    raw.push(0);
    if (opts.depth === 16) for (const v of row) raw.push(v >> 8, v & 0xff);
    else if (opts.depth === 8) raw.push(...row);
    else {
      const perByte = 8 / opts.depth;
      for (let i = 0; i < row.length; i += perByte) {
        let byte = 0;
        for (let j = 0; j < perByte; j++) byte |= (row[i + j] ?? 0) << (8 - opts.depth * (j + 1));
        raw.push(byte);
      }
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...(opts.before ?? []),
    ...(opts.idat ?? ((z: Buffer) => [chunk('IDAT', z)]))(deflateSync(Buffer.from(raw))),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** What a PNG file holds, straight from pngjs: interleaved raw samples in the file's own layout. */
function rawPng(path: string): { colorType: number; depth: number; width: number; height: number; samples: number[] } {
  const png = PNG.sync.read(readFileSync(path), { skipRescale: true });
  const perPixel = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[png.colorType];
  // pngjs expands everything to RGBA; take back the channels the file has.
  const pick = ({ 0: [0], 2: [0, 1, 2], 4: [0, 3], 6: [0, 1, 2, 3] } as Record<number, number[]>)[png.colorType];
  const samples: number[] = [];
  for (let i = 0; i < png.width * png.height; i++) for (const c of pick) samples.push(png.data[4 * i + c]);
  assert.is(samples.length, png.width * png.height * perPixel);
  return { colorType: png.colorType, depth: png.depth, width: png.width, height: png.height, samples };
}

/** Planar [3,H,W] expected from interleaved samples with `stride` per pixel (grey replicated). */
function planar(samples: number[], n: number, stride: number, colourChannels: 1 | 3, max: number): Float32Array {
  const out = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) for (let i = 0; i < n; i++) out[c * n + i] = samples[i * stride + (colourChannels === 1 ? 0 : c)] / max;
  return out;
}
function alphaOf(samples: number[], n: number, stride: number, max: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => samples[i * stride + stride - 1] / max);
}
function sameArray(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string) {
  assert.is(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) assert.unreachable(`${what}: [${i}] is ${actual[i]}, expected ${expected[i]}`);
  }
}

function throwsImageError(fn: () => unknown, pattern: RegExp, path: string) {
  try {
    fn();
  } catch (e) {
    assert.instance(e, ImageError, `not an ImageError: ${(e as Error).stack}`);
    const message = (e as Error).message;
    assert.ok(message.startsWith(path), `message does not start with the path: ${message}`);
    assert.match(message, pattern);
    return;
  }
  assert.unreachable(`no error (expected ${pattern})`);
}

// ---------------------------------------------------------------------------------------------
// PNG round trips

test('8-bit RGB 37×53 reads exactly and writes back the same samples', () => {
  const [w, h] = [37, 53];
  const samples = randomSamples(w * h * 3, 255);
  const image = readImage(pngjsFile('rgb8.png', w, h, 2, 8, samples));
  assert.equal([image.width, image.height, image.bitDepth, image.channels, image.alpha], [w, h, 8, 'rgb', null]);
  sameArray(image.rgb, planar(samples, w * h, 3, 3, 255), 'rgb');
  writeImage(at('rgb8-out.png'), image);
  const back = rawPng(at('rgb8-out.png'));
  assert.equal([back.colorType, back.depth, back.width, back.height], [2, 8, w, h]);
  sameArray(back.samples, samples, 'written samples');
});

test('8-bit RGBA: alpha passes through bit-exactly while colour is clamped and rounded', () => {
  const [w, h] = [37, 53];
  const samples = randomSamples(w * h * 4, 255);
  samples[3] = 0;
  samples[7] = 255;
  const image = readImage(pngjsFile('rgba8.png', w, h, 6, 8, samples));
  assert.is(image.channels, 'rgba');
  sameArray(image.rgb, planar(samples, w * h, 4, 3, 255), 'rgb');
  sameArray(image.alpha!, alphaOf(samples, w * h, 4, 255), 'alpha');
  // A network output: out of range and between levels.
  const rgb = image.rgb.map((v, i) => (i % 3 === 0 ? v * 1.7 - 0.3 : v + 0.4 / 255));
  writeImage(at('rgba8-out.png'), { ...image, rgb });
  const back = rawPng(at('rgba8-out.png'));
  assert.equal([back.colorType, back.depth], [6, 8]);
  const n = w * h;
  for (let i = 0; i < n; i++) {
    if (back.samples[4 * i + 3] !== samples[4 * i + 3]) assert.unreachable(`alpha changed at ${i}`);
    for (let c = 0; c < 3; c++) {
      const expected = Math.round(Math.min(Math.max(rgb[c * n + i], 0), 1) * 255);
      if (back.samples[4 * i + c] !== expected) assert.unreachable(`colour ${c} at ${i}: ${back.samples[4 * i + c]}, expected ${expected}`);
    }
  }
});

test('16-bit RGB keeps every 16-bit level, reading and writing', () => {
  const [w, h] = [37, 53];
  const samples = randomSamples(w * h * 3, 65535);
  samples[0] = 65535;
  samples[1] = 1;
  samples[2] = 0;
  const image = readImage(pngjsFile('rgb16.png', w, h, 2, 16, samples));
  assert.equal([image.bitDepth, image.channels], [16, 'rgb']);
  sameArray(image.rgb, planar(samples, w * h, 3, 3, 65535), 'rgb');
  // Adjacent levels stay distinct in float32.
  assert.ok(image.rgb[w * h] !== 0 && Math.round(image.rgb[w * h] * 65535) === 1);
  writeImage(at('rgb16-out.png'), image);
  const back = rawPng(at('rgb16-out.png'));
  assert.equal([back.colorType, back.depth], [2, 16]);
  sameArray(back.samples, samples, 'written samples');
});

test('16-bit RGBA 1×1 and 16-bit grey+alpha keep colour and alpha exactly', () => {
  const rgba = [12345, 0, 65535, 4321];
  const one = readImage(pngjsFile('rgba16-1x1.png', 1, 1, 6, 16, rgba));
  assert.equal([one.width, one.height, one.bitDepth, one.channels], [1, 1, 16, 'rgba']);
  sameArray(one.rgb, planar(rgba, 1, 4, 3, 65535), 'rgb');
  sameArray(one.alpha!, [4321 / 65535].map(Math.fround), 'alpha');
  writeImage(at('rgba16-1x1-out.png'), one);
  assert.equal(rawPng(at('rgba16-1x1-out.png')), { colorType: 6, depth: 16, width: 1, height: 1, samples: rgba });

  const [w, h] = [5, 3];
  const ga = randomSamples(w * h * 2, 65535);
  const image = readImage(pngjsFile('ga16.png', w, h, 4, 16, ga));
  assert.equal([image.bitDepth, image.channels], [16, 'greyAlpha']);
  sameArray(image.rgb, planar(ga, w * h, 2, 1, 65535), 'rgb');
  sameArray(image.alpha!, alphaOf(ga, w * h, 2, 65535), 'alpha');
  writeImage(at('ga16-out.png'), image);
  const back = rawPng(at('ga16-out.png'));
  assert.equal([back.colorType, back.depth], [4, 16]);
  sameArray(back.samples, ga, 'written samples');
});

test('8-bit grey: replicated to three planes; stays grey while the planes agree, becomes RGB when they do not', () => {
  const [w, h] = [37, 53];
  const n = w * h;
  const samples = randomSamples(n, 255);
  const image = readImage(pngjsFile('grey8.png', w, h, 0, 8, samples));
  assert.equal([image.bitDepth, image.channels, image.alpha], [8, 'grey', null]);
  sameArray(image.rgb, planar(samples, n, 1, 1, 255), 'rgb');
  writeImage(at('grey8-out.png'), image);
  const grey = rawPng(at('grey8-out.png'));
  assert.equal([grey.colorType, grey.depth], [0, 8]);
  sameArray(grey.samples, samples, 'written grey samples');

  const tinted = image.rgb.slice();
  tinted[2 * n + 7] = 1 - tinted[2 * n + 7] * 0.5; // one blue sample moves: no longer grey
  writeImage(at('grey8-tinted.png'), { ...image, rgb: tinted });
  const colour = rawPng(at('grey8-tinted.png'));
  assert.equal([colour.colorType, colour.depth], [2, 8]);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const expected = Math.round(tinted[c * n + i] * 255);
      if (colour.samples[3 * i + c] !== expected) assert.unreachable(`colour ${c} at ${i}`);
    }
  }
});

test('8-bit grey+alpha round trip, 1×1 and odd sizes', () => {
  for (const [w, h] of [[1, 1], [37, 53]]) {
    const samples = randomSamples(w * h * 2, 255);
    const image = readImage(pngjsFile(`ga8-${w}.png`, w, h, 4, 8, samples));
    assert.equal([image.width, image.height, image.bitDepth, image.channels], [w, h, 8, 'greyAlpha']);
    sameArray(image.rgb, planar(samples, w * h, 2, 1, 255), 'rgb');
    sameArray(image.alpha!, alphaOf(samples, w * h, 2, 255), 'alpha');
    writeImage(at(`ga8-${w}-out.png`), image);
    const back = rawPng(at(`ga8-${w}-out.png`));
    assert.equal([back.colorType, back.depth], [4, 8]);
    sameArray(back.samples, samples, 'written samples');
  }
});

test('palette images: 8-bit with tRNS alpha, 2-bit without; written as 8-bit RGB(A)', () => {
  const palette = [[255, 0, 0], [0, 128, 255], [10, 20, 30], [200, 201, 202]];
  const plte = chunk('PLTE', Buffer.from(palette.flat()));
  const [w, h] = [7, 5]; // 7 two-bit indices: the last byte of each row is part padding
  const indices = Array.from({ length: h }, () => randomSamples(w, 3));
  const expectRgb = (c: number) => indices.flat().map((k) => palette[k][c] / 255);

  const opaque = readImage((writeFileSync(at('pal2.png'), handPng({ width: w, height: h, depth: 2, colorType: 3, rows: indices, before: [plte] })), at('pal2.png')));
  assert.equal([opaque.width, opaque.height, opaque.bitDepth, opaque.channels, opaque.alpha], [w, h, 8, 'rgb', null]);
  sameArray(opaque.rgb, Float32Array.from([0, 1, 2].flatMap(expectRgb)), 'rgb');

  const trns = chunk('tRNS', Buffer.from([0, 77])); // entries 2 and 3 stay opaque
  const translucent = readImage((writeFileSync(at('pal8.png'), handPng({ width: w, height: h, depth: 8, colorType: 3, rows: indices, before: [plte, trns] })), at('pal8.png')));
  assert.equal([translucent.bitDepth, translucent.channels], [8, 'rgba']);
  sameArray(translucent.rgb, Float32Array.from([0, 1, 2].flatMap(expectRgb)), 'rgb');
  sameArray(translucent.alpha!, Float32Array.from(indices.flat().map((k) => [0, 77, 255, 255][k] / 255)), 'alpha');

  writeImage(at('pal8-out.png'), translucent);
  const back = rawPng(at('pal8-out.png'));
  assert.equal([back.colorType, back.depth], [6, 8]);
  sameArray(back.samples, indices.flat().flatMap((k) => [...palette[k], [0, 77, 255, 255][k]]), 'written samples');
});

test('1- and 4-bit grey scale by their own maximum and are written exactly at 8 bits', () => {
  for (const depth of [1, 4]) {
    const max = 2 ** depth - 1;
    const [w, h] = [11, 3];
    const rows = Array.from({ length: h }, () => randomSamples(w, max));
    writeFileSync(at(`grey${depth}.png`), handPng({ width: w, height: h, depth, colorType: 0, rows }));
    const image = readImage(at(`grey${depth}.png`));
    assert.equal([image.bitDepth, image.channels], [8, 'grey']);
    sameArray(image.rgb, planar(rows.flat(), w * h, 1, 1, max), `${depth}-bit rgb`);
    writeImage(at(`grey${depth}-out.png`), image);
    const back = rawPng(at(`grey${depth}-out.png`));
    assert.equal([back.colorType, back.depth], [0, 8]);
    sameArray(back.samples, rows.flat().map((k) => (k * 255) / max), `${depth}-bit written samples`);
  }
});

test('a tRNS colour key becomes alpha and keeps the colour under it', () => {
  const rows = [[10, 20, 30, 10, 21, 30, 10, 20, 30], [9, 20, 30, 10, 20, 30, 10, 20, 31]]; // near misses differ in one channel each
  const key = Buffer.from([0, 10, 0, 20, 0, 30]);
  writeFileSync(at('keyed.png'), handPng({ width: 3, height: 2, depth: 8, colorType: 2, rows, before: [chunk('tRNS', key)] }));
  const image = readImage(at('keyed.png'));
  assert.equal([image.channels, image.bitDepth], ['rgba', 8]);
  sameArray(image.alpha!, [0, 1, 0, 1, 0, 1], 'alpha');
  sameArray(image.rgb, planar(rows.flat(), 6, 3, 3, 255), 'rgb (not blacked out)');

  // Grey at 16 bits: the key is compared with the raw 16-bit sample.
  writeFileSync(at('keyed16.png'), handPng({ width: 3, height: 1, depth: 16, colorType: 0, rows: [[300, 301, 300]], before: [chunk('tRNS', Buffer.from([1, 44]))] }));
  const grey = readImage(at('keyed16.png'));
  assert.equal([grey.channels, grey.bitDepth], ['greyAlpha', 16]);
  sameArray(grey.alpha!, [0, 1, 0], 'grey alpha');
  sameArray(grey.rgb.subarray(0, 3), [300, 301, 300].map((v) => Math.fround(v / 65535)), 'grey values');
});

test('the real test photos decode (when ../shared is there)', () => {
  const folder = fileURLToPath(new URL('../../shared/data/default', import.meta.url));
  let files: string[];
  try {
    files = listImages(folder);
  } catch {
    return; // a fresh clone has no ../shared
  }
  const image = readImage(files[0]);
  assert.ok(image.width > 1 && image.height > 1 && image.rgb.length === 3 * image.width * image.height);
  writeImage(at('photo.png'), image);
  sameArray(readImage(at('photo.png')).rgb, image.rgb, 'photo round trip');
});

// ---------------------------------------------------------------------------------------------
// safetensors

test('safetensors image: unclamped values survive; shape [1,3,H,W]; alpha is not stored', () => {
  const [w, h] = [37, 53];
  const rgb = Float32Array.from(r.uniform(3 * w * h, -0.5, 1.5));
  rgb[0] = -0.2;
  rgb[1] = 1.3;
  const alpha = new Float32Array(w * h).fill(0.5);
  writeImage(at('img.safetensors'), { width: w, height: h, rgb, alpha, bitDepth: 8, channels: 'rgba' });
  const file = readSafetensors(at('img.safetensors'));
  assert.equal([...file.tensors.keys()], ['image']);
  assert.equal(file.tensors.get('image')!.shape, [1, 3, h, w]);
  const image = readImage(at('img.safetensors'));
  assert.equal([image.width, image.height, image.alpha, image.bitDepth, image.channels], [w, h, null, 16, 'rgb']);
  sameArray(image.rgb, rgb, 'rgb');

  // And through PNG, those values are clamped.
  writeImage(at('from-safetensors.png'), image);
  const back = rawPng(at('from-safetensors.png'));
  assert.equal([back.colorType, back.depth, back.samples[0], back.samples[3]], [2, 16, 0, 65535]);
});

test('1×1 safetensors image round trip', () => {
  const image: Image = { width: 1, height: 1, rgb: Float32Array.from([-3, 0.25, 7]), alpha: null, bitDepth: 16, channels: 'rgb' };
  writeImage(at('one.safetensors'), image);
  sameArray(readImage(at('one.safetensors')).rgb, image.rgb, 'rgb');
});

// ---------------------------------------------------------------------------------------------
// Errors

test('read errors name the file and say what is wrong', () => {
  throwsImageError(() => readImage(at('missing.png')), /no such file/, at('missing.png'));
  throwsImageError(() => readImage(at('missing.safetensors')), /no such file/, at('missing.safetensors'));
  throwsImageError(() => readImage(dir + '/sub.png/'), /no such file|not a regular file/, dir);
  mkdirSync(at('folder.png'));
  throwsImageError(() => readImage(at('folder.png')), /not a regular file/, at('folder.png'));
  throwsImageError(() => readImage(at('photo.jpg')), /unsupported image format '\.jpg' \(expected \.png or \.safetensors\)/, at('photo.jpg'));

  writeFileSync(at('text.png'), 'hello, I am not a picture\n');
  throwsImageError(() => readImage(at('text.png')), /not a PNG file/, at('text.png'));
  writeFileSync(at('empty.png'), '');
  throwsImageError(() => readImage(at('empty.png')), /not a PNG file/, at('empty.png'));

  const good = readFileSync(pngjsFile('good.png', 9, 7, 2, 8, randomSamples(9 * 7 * 3, 255)));
  const flipped = Buffer.from(good);
  flipped[good.length - 20] ^= 0x40; // inside IDAT's compressed data
  writeFileSync(at('flipped.png'), flipped);
  throwsImageError(() => readImage(at('flipped.png')), /corrupt PNG \(CRC mismatch in chunk IDAT/, at('flipped.png'));
  writeFileSync(at('truncated.png'), good.subarray(0, good.length - 30));
  throwsImageError(() => readImage(at('truncated.png')), /corrupt PNG \(truncated/, at('truncated.png'));

  // Valid framing and CRCs, but the image data does not decompress.
  const badIdat = Buffer.concat([good.subarray(0, 33), chunk('IDAT', Buffer.from('not zlib at all')), chunk('IEND', new Uint8Array(0))]);
  writeFileSync(at('bad-idat.png'), badIdat);
  throwsImageError(() => readImage(at('bad-idat.png')), /corrupt PNG \(image data does not decompress: incorrect header check\)/, at('bad-idat.png'));
  const rgbRows = (n: number) => Array.from({ length: n }, () => randomSamples(9, 255));
  const cases: [string, Parameters<typeof handPng>[0], RegExp][] = [
    ['short', { width: 3, height: 4, depth: 8, colorType: 2, rows: rgbRows(3) }, /decompresses to 30 bytes, a 3×4 image needs 40/],
    ['long', { width: 3, height: 4, depth: 8, colorType: 2, rows: rgbRows(5) }, /more than the 40 bytes a 3×4 image needs/],
    ['cut-stream', { width: 3, height: 4, depth: 8, colorType: 2, rows: rgbRows(4), idat: (z) => [chunk('IDAT', z.subarray(0, z.length - 5))] }, /does not decompress: unexpected end of file/],
    ['no-idat', { width: 3, height: 4, depth: 8, colorType: 2, rows: rgbRows(4), idat: () => [] }, /no IDAT chunk/],
  ];
  for (const [name, png, pattern] of cases) {
    writeFileSync(at(`${name}.png`), handPng(png));
    throwsImageError(() => readImage(at(`${name}.png`)), pattern, at(`${name}.png`));
  }
  // Image data split over several IDAT chunks is one stream.
  const rows = rgbRows(4);
  writeFileSync(at('split-idat.png'), handPng({ width: 3, height: 4, depth: 8, colorType: 2, rows, idat: (z) => [chunk('IDAT', z.subarray(0, 7)), chunk('IDAT', z.subarray(7))] }));
  sameArray(readImage(at('split-idat.png')).rgb, planar(rows.flat(), 12, 3, 3, 255), 'split IDAT');

  writeFileSync(at('interlaced.png'), handPng({ width: 3, height: 3, depth: 8, colorType: 2, interlace: 1, rows: [] }));
  throwsImageError(() => readImage(at('interlaced.png')), /unsupported PNG: interlaced/, at('interlaced.png'));
  writeFileSync(at('depth.png'), handPng({ width: 3, height: 1, depth: 4, colorType: 2, rows: [[1, 2, 3]] }));
  throwsImageError(() => readImage(at('depth.png')), /bit depth 4 is not allowed for RGB images/, at('depth.png'));
  writeFileSync(at('nopalette.png'), handPng({ width: 2, height: 1, depth: 8, colorType: 3, rows: [[0, 1]] }));
  throwsImageError(() => readImage(at('nopalette.png')), /corrupt PNG \(.*palette/i, at('nopalette.png'));
});

test('safetensors read errors: no image tensor, wrong shape, not a safetensors file', () => {
  writeSafetensors(at('weights.safetensors'), { 'conv.weight': { shape: [2], data: new Float32Array(2) } });
  throwsImageError(() => readImage(at('weights.safetensors')), /no "image" tensor \(it holds "conv\.weight"\)/, at('weights.safetensors'));
  for (const shape of [[3, 4, 5], [1, 1, 4, 5], [2, 3, 4, 5], [1, 3, 0, 5]]) {
    const name = `shape-${shape.join('x')}.safetensors`;
    writeSafetensors(at(name), { image: { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) } });
    throwsImageError(() => readImage(at(name)), new RegExp(`"image" has shape \\[${shape.join(',')}\\], expected \\[1,3,H,W\\]`), at(name));
  }
  writeFileSync(at('junk.safetensors'), 'definitely not safetensors');
  throwsImageError(() => readImage(at('junk.safetensors')), /header length/, at('junk.safetensors'));
});

test('write errors: bad images are refused before any file is made', () => {
  const base: Image = { width: 4, height: 3, rgb: new Float32Array(36), alpha: null, bitDepth: 8, channels: 'rgb' };
  const target = at('never/made.png');
  throwsImageError(() => writeImage(target, { ...base, rgb: new Float32Array(35) }), /rgb must be a Float32Array of 3×3×4 = 36 values, not 35/, target);
  throwsImageError(() => writeImage(target, { ...base, alpha: new Float32Array(11) }), /alpha must be null or a Float32Array of 3×4 = 12 values/, target);
  throwsImageError(() => writeImage(target, { ...base, width: 0, rgb: new Float32Array(0) }), /size 0×3/, target);
  throwsImageError(() => writeImage(target, { ...base, bitDepth: 12 as 8 }), /bit depth 12/, target);
  const nan = new Float32Array(36);
  nan[5] = NaN;
  nan[6] = NaN;
  throwsImageError(() => writeImage(target, { ...base, rgb: nan }), /2 of its values are NaN/, target);
  throwsImageError(() => writeImage(at('out.jpg'), base), /unsupported image format/, at('out.jpg'));
  assert.not.ok(readdirSync(dir).includes('never'), 'a refused write created its directory');
});

test('writes are atomic: parent directories created, overwrites replace, no temporary files left', () => {
  const sub = at('nested/deeper');
  const image: Image = { width: 3, height: 2, rgb: new Float32Array(18).fill(0.5), alpha: null, bitDepth: 8, channels: 'rgb' };
  writeImage(join(sub, 'a.png'), image);
  writeImage(join(sub, 'a.png'), { ...image, rgb: new Float32Array(18).fill(1) });
  writeImage(join(sub, 'b.safetensors'), image);
  assert.equal(readdirSync(sub).sort(), ['a.png', 'b.safetensors']);
  assert.ok(rawPng(join(sub, 'a.png')).samples.every((v) => v === 255), 'the overwrite did not replace the file');

  // A rename that fails (the target is a directory) cleans its temporary file up.
  mkdirSync(join(sub, 'taken.png'));
  throwsImageError(() => writeImage(join(sub, 'taken.png'), image), /cannot write/, join(sub, 'taken.png'));
  assert.equal(readdirSync(sub).sort(), ['a.png', 'b.safetensors', 'taken.png']);
  assert.equal(readdirSync(join(sub, 'taken.png')), []);
});

// ---------------------------------------------------------------------------------------------
// listImages

test('listImages: a file as given, a directory as its sorted .png files', () => {
  const folder = at('list');
  mkdirSync(folder);
  for (const name of ['b.png', 'a.png', 'C.PNG', 'notes.txt', '.hidden.png', 'x.safetensors']) writeFileSync(join(folder, name), '');
  mkdirSync(join(folder, 'dir.png'));
  assert.equal(listImages(folder), ['C.PNG', 'a.png', 'b.png'].map((n) => join(folder, n)));
  assert.equal(listImages(join(folder, 'x.safetensors')), [join(folder, 'x.safetensors')]);
  assert.equal(listImages(join(folder, 'b.png')), [join(folder, 'b.png')]);
  throwsImageError(() => listImages(join(folder, 'notes.txt')), /unsupported image format '\.txt'/, join(folder, 'notes.txt'));
  throwsImageError(() => listImages(join(folder, 'gone')), /no such file/, join(folder, 'gone'));
  mkdirSync(at('no-pngs'));
  throwsImageError(() => listImages(at('no-pngs')), /directory has no \.png files/, at('no-pngs'));
});

test.run();
