// PNG at full fidelity, for the lmfn commands and the datasets.
//
// PNG reading keeps every bit the file has: 16-bit samples stay 16-bit (pngjs with skipRescale),
// 1/2/4-bit grey is scaled by its own maximum (k / (2^depth − 1)), palettes are expanded to their
// 8-bit RGB(A) entries, and grey is replicated to three planes. A tRNS colour key on a grey or RGB
// image becomes an alpha plane (0 where the sample equals the key, 1 elsewhere) while the colour
// underneath is kept; pngjs would paint those pixels black, which the network would then see.
// Gamma and colour-profile chunks are ignored: samples are used as stored.
//
// PNG writing follows what the input had: its bit depth (8 or 16; sub-byte grey and palettes are
// written at 8 bits, which holds their values exactly), its alpha plane unchanged, and grey as
// grey as long as the three planes are still equal once quantised; a grey input whose planes came
// to differ (a colour network output) is written as RGB, so no colour is thrown away. Colour is
// clamped to [0,1] and rounded to the nearest level. Gamma and profile chunks are not written.
//
// Interlaced (Adam7) PNGs are refused with a message asking for a non-interlaced copy (any image
// tool writes one); photo datasets practically never use it.
//

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { PNG, type ColorType } from 'pngjs';
import { ImageError, checkImage, type Image } from './image-data.ts';

/** Far beyond any image the GPU could hold; a larger header means a corrupt or hostile file. */
const MAX_PIXELS = 1 << 28;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const IEND_CHUNK = [0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82];
const COLOR_TYPE_NAMES: Record<number, string> = { 0: 'grey', 2: 'RGB', 3: 'palette', 4: 'grey+alpha', 6: 'RGBA' };
const VALID_DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

interface PngHeader {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  /** The raw tRNS colour key of a grey (1 value) or RGB (3 values) image. */
  colorKey: number[] | null;
}

/** Decodes PNG bytes; `source` names them in error messages. */
export function decodePng(bytes: Uint8Array, source = '<bytes>'): Image {
  const { header, withoutColorKey } = scanPng(bytes, source);
  const { width, height, depth, colorType, colorKey } = header;
  let decoded: { data: Uint8Array | Uint16Array; alpha: boolean };
  try {
    decoded = PNG.sync.read(Buffer.from(withoutColorKey.buffer, withoutColorKey.byteOffset, withoutColorKey.byteLength), { skipRescale: true });
  } catch (e) {
    throw new ImageError(`${source}: corrupt PNG (${(e as Error).message})`, { cause: e });
  }
  // pngjs hands back RGBA per pixel whatever the file had: raw samples for grey and RGB
  // (a Uint16Array at 16 bits), 8-bit entries for palettes.
  const data = decoded.data;
  const n = width * height;
  if (data.length !== 4 * n) throw new ImageError(`${source}: corrupt PNG (decoded ${data.length} samples, expected ${4 * n})`);
  const palette = colorType === 3;
  const max = palette ? 255 : 2 ** depth - 1;
  const rgb = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    rgb[i] = data[4 * i] / max;
    rgb[n + i] = data[4 * i + 1] / max;
    rgb[2 * n + i] = data[4 * i + 2] / max;
  }
  let alpha: Float32Array | null = null;
  if (colorKey) {
    alpha = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const keyed = colorKey.length === 1
        ? data[4 * i] === colorKey[0]
        : data[4 * i] === colorKey[0] && data[4 * i + 1] === colorKey[1] && data[4 * i + 2] === colorKey[2];
      alpha[i] = keyed ? 0 : 1;
    }
  } else if (colorType === 4 || colorType === 6 || (palette && decoded.alpha)) {
    alpha = new Float32Array(n);
    for (let i = 0; i < n; i++) alpha[i] = data[4 * i + 3] / max;
  }
  const grey = colorType === 0 || colorType === 4;
  return {
    width,
    height,
    rgb,
    alpha,
    bitDepth: depth === 16 ? 16 : 8,
    channels: grey ? (alpha ? 'greyAlpha' : 'grey') : alpha ? 'rgba' : 'rgb',
  };
}

/** Encodes an image as PNG bytes, in the kind described at the top of this file. */
export function encodePng(image: Image, source = '<image>'): Buffer {
  checkImage(image, source);
  const { width, height, rgb, alpha, bitDepth } = image;
  const n = width * height;
  const max = bitDepth === 16 ? 65535 : 255;
  // NaN has no nearest level; writing it as black would hide a broken model output.
  let nans = 0;
  const quantisePlane = (values: Float32Array, offset: number) => {
    const plane = bitDepth === 16 ? new Uint16Array(n) : new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[offset + i];
      if (Number.isNaN(v)) nans++;
      plane[i] = Math.round(Math.min(Math.max(v, 0), 1) * max);
    }
    return plane;
  };
  const quantised = [0, 1, 2].map((c) => quantisePlane(rgb, c * n));
  const alphaPlane = alpha && quantisePlane(alpha, 0);
  if (nans) throw new ImageError(`${source}: cannot write image: ${nans} of its values are NaN`);
  const grey = (image.channels === 'grey' || image.channels === 'greyAlpha') && quantised[1].every((v, i) => v === quantised[0][i] && v === quantised[2][i]);

  const planes = grey ? [quantised[0]] : quantised;
  if (alphaPlane) planes.push(alphaPlane);
  const colorType: ColorType = grey ? (alphaPlane ? 4 : 0) : alphaPlane ? 6 : 2;
  const stride = planes.length;
  // pngjs takes interleaved samples: bytes at 8 bits, native-endian u16 (via .buffer) at 16.
  const interleaved = bitDepth === 16 ? new Uint16Array(n * stride) : Buffer.alloc(n * stride);
  for (let p = 0; p < stride; p++) {
    const plane = planes[p];
    for (let i = 0; i < n; i++) interleaved[i * stride + p] = plane[i];
  }
  const png = { width, height, data: interleaved } as unknown as PNG;
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: alphaPlane !== null, bitDepth });
}

/**
 * Validates the signature, IHDR, chunk framing and CRCs, so the common failures get a plain message
 * instead of whatever pngjs throws, and cuts a grey/RGB tRNS chunk out (its key is returned).
 */
function scanPng(bytes: Uint8Array, source: string): { header: PngHeader; withoutColorKey: Uint8Array } {
  if (bytes.length < 8 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new ImageError(`${source}: not a PNG file (it does not start with the PNG signature)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let header: PngHeader | undefined;
  let keyChunk: [number, number] | undefined;
  const imageData: Uint8Array[] = [];
  let at = 8;
  for (;;) {
    if (at + 8 > bytes.length) throw new ImageError(`${source}: corrupt PNG (truncated: the file ends before the IEND chunk)`);
    const length = view.getUint32(at);
    const type = String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
    const end = at + 12 + length;
    if (end > bytes.length) throw new ImageError(`${source}: corrupt PNG (truncated: chunk ${type} runs past the end of the file)`);
    if (crc32(bytes, at + 4, end - 4) !== view.getUint32(end - 4)) {
      // Checked here because pngjs reports a CRC failure as "unrecognised content at end of stream".
      throw new ImageError(`${source}: corrupt PNG (CRC mismatch in chunk ${type} at byte ${at})`);
    }
    if (!header) {
      if (type !== 'IHDR' || length !== 13) throw new ImageError(`${source}: corrupt PNG (the first chunk is not a 13-byte IHDR)`);
      header = parseIhdr(view, at + 8, source);
    } else if (type === 'tRNS' && (header.colorType === 0 || header.colorType === 2)) {
      const samples = header.colorType === 0 ? 1 : 3;
      if (length !== 2 * samples) throw new ImageError(`${source}: corrupt PNG (tRNS chunk is ${length} bytes, expected ${2 * samples} for a ${COLOR_TYPE_NAMES[header.colorType]} image)`);
      header.colorKey = Array.from({ length: samples }, (_, s) => view.getUint16(at + 8 + 2 * s));
      keyChunk = [at, end];
    } else if (type === 'IDAT') {
      imageData.push(bytes.subarray(at + 8, end - 4));
    } else if (type === 'IEND') {
      break;
    }
    at = end;
  }
  checkImageData(header, imageData, source);
  if (!keyChunk) return { header, withoutColorKey: bytes };
  const stripped = new Uint8Array(bytes.length - (keyChunk[1] - keyChunk[0]));
  stripped.set(bytes.subarray(0, keyChunk[0]), 0);
  stripped.set(bytes.subarray(keyChunk[1]), keyChunk[0]);
  return { header, withoutColorKey: stripped };
}

const SAMPLES_PER_PIXEL: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * Inflates the image data once with Node's strict zlib and checks its length. pngjs's own
 * synchronous inflate loses zlib errors on current Node and hands back uninitialised memory as
 * pixels, so a corrupt stream must never reach it.
 */
function checkImageData(header: PngHeader, chunks: Uint8Array[], source: string): void {
  if (chunks.length === 0) throw new ImageError(`${source}: corrupt PNG (no IDAT chunk: the file has no image data)`);
  const rowBytes = 1 + Math.ceil((header.width * SAMPLES_PER_PIXEL[header.colorType] * header.depth) / 8);
  const expected = header.height * rowBytes;
  let inflated: Buffer;
  try {
    // One byte of headroom tells "too long" apart from "exactly right" without inflating a bomb.
    inflated = inflateSync(Buffer.concat(chunks), { maxOutputLength: expected + 1 });
  } catch (e) {
    const tooLong = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    const why = tooLong ? `more than the ${expected} bytes a ${header.width}×${header.height} image needs` : (e as Error).message;
    throw new ImageError(`${source}: corrupt PNG (image data does not decompress: ${why})`, { cause: e });
  }
  if (inflated.length !== expected) {
    throw new ImageError(`${source}: corrupt PNG (image data decompresses to ${inflated.length} bytes, a ${header.width}×${header.height} image needs ${expected})`);
  }
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

/** The PNG (zlib) CRC-32 of bytes[begin, end). */
function crc32(bytes: Uint8Array, begin: number, end: number): number {
  let c = 0xffffffff;
  for (let i = begin; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function parseIhdr(view: DataView, at: number, source: string): PngHeader {
  const width = view.getUint32(at);
  const height = view.getUint32(at + 4);
  const depth = view.getUint8(at + 8);
  const colorType = view.getUint8(at + 9);
  const compression = view.getUint8(at + 10);
  const filter = view.getUint8(at + 11);
  const interlace = view.getUint8(at + 12);
  if (width === 0 || height === 0) throw new ImageError(`${source}: corrupt PNG (size ${width}×${height})`);
  if (width * height > MAX_PIXELS) throw new ImageError(`${source}: unsupported PNG: ${width}×${height} is larger than ${MAX_PIXELS} pixels`);
  if (!(colorType in VALID_DEPTHS)) throw new ImageError(`${source}: corrupt PNG (unknown colour type ${colorType})`);
  if (!VALID_DEPTHS[colorType].includes(depth)) {
    throw new ImageError(`${source}: corrupt PNG (bit depth ${depth} is not allowed for ${COLOR_TYPE_NAMES[colorType]} images)`);
  }
  if (compression !== 0 || filter !== 0) throw new ImageError(`${source}: unsupported PNG: compression method ${compression}, filter method ${filter}`);
  if (interlace === 1) throw new ImageError(`${source}: unsupported PNG: interlaced (Adam7); re-save it without interlacing`);
  if (interlace !== 0) throw new ImageError(`${source}: corrupt PNG (unknown interlace method ${interlace})`);
  return { width, height, depth, colorType, colorKey: null };
}


/**
 * Reads a PNG's signature, IHDR (with its CRC) and final IEND chunk: enough to know its size and
 * to catch wrong, truncated or unsupported files without decoding. Corrupt pixel data inside an
 * intact file is only found when it is decoded. Errors name the file as `source`.
 */
export function readPngHeader(path: string, source = path): { width: number; height: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new ImageError(`${source}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const head = Buffer.alloc(33);
    const size = fstatSync(fd).size;
    const got = readSync(fd, head, 0, 33, 0);
    if (got < 8 || PNG_SIGNATURE.some((b, i) => head[i] !== b)) throw new ImageError(`${source}: not a PNG file`);
    if (got < 33 || size < 33 + 12) throw new ImageError(`${source}: corrupt PNG (truncated)`);
    if (head.toString('latin1', 12, 16) !== 'IHDR' || head.readUInt32BE(8) !== 13) throw new ImageError(`${source}: corrupt PNG (no IHDR chunk)`);
    if (crc32(head, 12, 29) !== head.readUInt32BE(29)) throw new ImageError(`${source}: corrupt PNG (IHDR checksum mismatch)`);
    const { width, height } = parseIhdr(new DataView(head.buffer, head.byteOffset, head.byteLength), 16, source);
    const tail = Buffer.alloc(12);
    readSync(fd, tail, 0, 12, size - 12);
    if (IEND_CHUNK.some((b, i) => tail[i] !== b)) throw new ImageError(`${source}: corrupt PNG (truncated: it does not end with an IEND chunk)`);
    return { width, height };
  } finally {
    closeSync(fd);
  }
}
