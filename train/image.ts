// Image files for the lmfn commands: PNG at full fidelity, and the `.safetensors` image form
// (one F32 tensor `image` [1,3,H,W], values as they are, for exact model inputs and outputs).
//
// PNG reading and writing (png.ts) keeps every bit the file has and writes what the input had.
//
// Every write is atomic (a temporary file in the target's directory, fsynced, then renamed over
// the target), so a crash leaves the old file or the new one, never half of one.

import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { readSafetensors, writeFileAtomic, writeSafetensors } from '../engine/node/index.ts';
import { ImageError, checkImage, type Image } from './image-data.ts';
import { decodePng, encodePng } from './png.ts';

export { ImageError, type Image } from './image-data.ts';
export { decodePng, encodePng } from './png.ts';

/** The safetensors image form's tensor name. */
export const IMAGE_TENSOR = 'image';

type Format = 'png' | 'safetensors';

/** Reads a `.png` or `.safetensors` image. */
export function readImage(path: string): Image {
  const format = formatOf(path);
  checkReadableFile(path);
  if (format === 'safetensors') return readSafetensorsImage(path);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new ImageError(`${path}: cannot read (${describeFsError(e)})`);
  }
  return decodePng(bytes, path);
}

/**
 * Writes `image` as `.png` (clamped, rounded, in the kind the input had; see png.ts)
 * or `.safetensors` (`image` [1,3,H,W], unclamped; alpha is not stored). Creates the parent
 * directory if needed; the write is atomic.
 */
export function writeImage(path: string, image: Image): void {
  const format = formatOf(path);
  checkImage(image, path);
  // Encode first: a bad image fails before the directory or any file is touched.
  const png = format === 'png' ? encodePng(image, path) : undefined;
  const dir = dirname(resolve(path));
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new ImageError(`${path}: cannot create directory ${dir} (${describeFsError(e)})`);
  }
  try {
    if (png) writeFileAtomic(path, [png]);
    else writeSafetensors(path, [[IMAGE_TENSOR, { shape: [1, 3, image.height, image.width], data: image.rgb }]]);
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw new ImageError(`${path}: cannot write (${describeFsError(e)})`, { cause: e });
  }
}

/** A file (returned as given), or the `.png` files of a directory, sorted by name (not recursive; dotfiles skipped). */
export function listImages(pathOrDir: string): string[] {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(pathOrDir).isDirectory();
  } catch (e) {
    throw new ImageError(`${pathOrDir}: ${describeFsError(e)}`);
  }
  if (!isDirectory) {
    formatOf(pathOrDir);
    return [pathOrDir];
  }
  let names: string[];
  try {
    names = readdirSync(pathOrDir);
  } catch (e) {
    throw new ImageError(`${pathOrDir}: cannot list directory (${describeFsError(e)})`);
  }
  const files = names
    .filter((n) => !n.startsWith('.') && extname(n).toLowerCase() === '.png')
    .map((n) => join(pathOrDir, n))
    .filter(isFile)
    // Code-unit order: the same on every machine, whatever the locale.
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (files.length === 0) throw new ImageError(`${pathOrDir}: directory has no .png files`);
  return files;
}

// ---------------------------------------------------------------------------------------------
// safetensors

function readSafetensorsImage(path: string): Image {
  let tensors;
  try {
    tensors = readSafetensors(path).tensors;
  } catch (e) {
    throw new ImageError((e as Error).message.startsWith(path) ? (e as Error).message : `${path}: ${(e as Error).message}`, { cause: e });
  }
  const t = tensors.get(IMAGE_TENSOR);
  if (!t) {
    const names = [...tensors.keys()];
    const found = names.length ? `it holds ${names.slice(0, 5).map((k) => `"${k}"`).join(', ')}${names.length > 5 ? ', …' : ''}` : 'it holds no tensors';
    throw new ImageError(`${path}: no "${IMAGE_TENSOR}" tensor (${found}); an image file holds "${IMAGE_TENSOR}" [1,3,H,W]`);
  }
  const [batch, channels, height, width] = t.shape;
  if (t.shape.length !== 4 || batch !== 1 || channels !== 3 || height < 1 || width < 1) {
    throw new ImageError(`${path}: "${IMAGE_TENSOR}" has shape [${t.shape.join(',')}], expected [1,3,H,W] with H, W ≥ 1`);
  }
  return { width, height, rgb: t.data, alpha: null, bitDepth: 16, channels: 'rgb' };
}

// ---------------------------------------------------------------------------------------------
// Files

function formatOf(path: string): Format {
  const ext = extname(path).toLowerCase();
  if (ext === '.png') return 'png';
  if (ext === '.safetensors') return 'safetensors';
  throw new ImageError(`${path}: unsupported image format '${ext || '(no extension)'}' (expected .png or .safetensors)`);
}

function checkReadableFile(path: string): void {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (e) {
    throw new ImageError(`${path}: ${describeFsError(e)}`);
  }
  if (!isFile) throw new ImageError(`${path}: not a regular file`);
}


function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false; // a dangling link is not an image
  }
}

function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  if (code === 'ENOTDIR') return 'a parent of it is not a directory';
  return (e as Error).message;
}
