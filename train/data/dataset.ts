// Training datasets: the embedded default photos (blurred synthetically), GoPro-style sequence
// folders, or one flat folder of blur/sharp pairs.
//
// Opening a dataset validates all of it before training starts: every partner present, partner
// sizes equal, every file a plausible PNG. Only headers are read (IHDR for the size, the final
// chunk for truncation), so a dataset of thousands of frames opens in a second; pixels are
// decoded lazily, one pair at a time. All problems are collected into one DatasetError.
//
// A Dataset is described by a plain, structured-cloneable DatasetSpec, so loader workers can
// rebuild it without validating again.

import { readdirSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Random } from '../../engine/node/index.ts';
import { ImageError, readImage } from '../image.ts';
import { readPngHeader } from '../png.ts';
import { MIN_SIZE, SIZE_MULTIPLE } from '../../model/size.ts';
import { blurImage, cropPlanar, randomKernel } from './blur.ts';

/** A dataset that cannot be used; `problems` lists each one, naming the file. */
export class DatasetError extends Error {
  override name = 'DatasetError';
  constructor(readonly source: string, readonly problems: string[]) {
    super(
      problems.length === 1
        ? `dataset ${source}: ${problems[0]}`
        : `dataset ${source}: ${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
}

/** One pair on disk. `blurPath` is null for sharp-only photos that are blurred synthetically. */
export interface PairEntry {
  /** Path relative to the dataset root, for messages and logs. */
  name: string;
  sharpPath: string;
  blurPath: string | null;
  width: number;
  height: number;
}

/** How a synthetic validation pair is made: fixed crop, kernel and noise, all from `seed`. */
export interface SyntheticValSpec {
  size: number;
  kernelSize: number;
  noiseStd: number;
  seed: number;
}

export interface DatasetSpec {
  kind: 'default' | 'gopro' | 'flat';
  root: string;
  train: PairEntry[];
  val: PairEntry[];
  /** Set for the default data, whose validation photos are blurred with fixed kernels. */
  syntheticVal: SyntheticValSpec | null;
  /** How the validation split was chosen, for describe(). */
  valNote: string;
}

/** A decoded pair: planar RGB [3,height,width] in [0,1], blur and sharp aligned. */
export interface Pair {
  name: string;
  blur: Float32Array;
  sharp: Float32Array;
  width: number;
  height: number;
}

/** The default data: where it lives, which photos are held out, and how they are blurred. */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../data/default', import.meta.url));
export const DEFAULT_VAL_PHOTOS = ['chelsea.png', 'coffee.png'];
export const DEFAULT_KERNEL_SIZE = 31;
export const DEFAULT_NOISE_STD = 0.01;
const DEFAULT_VAL: SyntheticValSpec = { size: 256, kernelSize: DEFAULT_KERNEL_SIZE, noiseStd: DEFAULT_NOISE_STD, seed: 2021 };

/** Flat folders hold out every FLAT_VAL_EVERY-th pair (by sorted name) for validation. */
const FLAT_VAL_EVERY = 10;

export class Dataset {
  readonly train: Split;
  readonly val: Split;

  constructor(readonly spec: DatasetSpec) {
    this.train = new Split(spec.root, spec.train, 'train', null);
    this.val = new Split(spec.root, spec.val, 'val', spec.syntheticVal);
  }

  /** True when training pairs are made by blurring sharp photos (the loader does that). */
  get synthetic(): boolean {
    return this.spec.train.some((e) => e.blurPath === null);
  }

  /** One line for logs. */
  describe(): string {
    const { kind, root, train, val, valNote } = this.spec;
    if (kind === 'default') {
      return `default data (${root}): ${train.length} sharp photos blurred on the fly with random camera-shake kernels; ${val.length} held out for validation (${valNote})`;
    }
    const what = kind === 'gopro' ? `GoPro layout (${root})` : `flat blur/sharp folder (${root})`;
    return `${what}: ${train.length} training pairs, ${val.length} validation pairs (${valNote})`;
  }
}

export class Split {
  constructor(
    private readonly root: string,
    readonly entries: readonly PairEntry[],
    readonly role: 'train' | 'val',
    private readonly syntheticVal: SyntheticValSpec | null,
  ) {}

  get count(): number {
    return this.entries.length;
  }

  name(i: number): string {
    return this.entry(i).name;
  }

  /** Width and height of pair i as stored (before any validation crop). */
  size(i: number): { width: number; height: number } {
    const { width, height } = this.entry(i);
    return { width, height };
  }

  /** The sharp image of pair i, decoded. */
  sharp(i: number): { rgb: Float32Array; width: number; height: number } {
    const e = this.entry(i);
    return decode(this.root, e.sharpPath, e.name, e.width, e.height);
  }

  /**
   * Pair i, decoded. Training pairs are returned whole (a sharp-only photo is blurred whole with a
   * kernel fixed by i, for inspection). Validation pairs are ready to evaluate: they satisfy the
   * size rule (a centre crop down to multiples of 16, or the default data's fixed 256×256 crops
   * with fixed kernels and noise).
   */
  pair(i: number): Pair {
    const e = this.entry(i);
    if (e.blurPath === null) return this.syntheticPair(i, e);
    const sharp = decode(this.root, e.sharpPath, e.name, e.width, e.height);
    const blur = decode(this.root, e.blurPath, e.name, e.width, e.height);
    if (this.role === 'train') return { name: e.name, blur: blur.rgb, sharp: sharp.rgb, width: e.width, height: e.height };
    const h = floorToMultiple(e.height);
    const w = floorToMultiple(e.width);
    const top = (e.height - h) >> 1;
    const left = (e.width - w) >> 1;
    return {
      name: e.name,
      blur: cropPlanar(blur.rgb, e.height, e.width, top, left, h, w),
      sharp: cropPlanar(sharp.rgb, e.height, e.width, top, left, h, w),
      width: w,
      height: h,
    };
  }

  private syntheticPair(i: number, e: PairEntry): Pair {
    const photo = decode(this.root, e.sharpPath, e.name, e.width, e.height);
    const spec = this.syntheticVal ?? { size: 0, kernelSize: DEFAULT_KERNEL_SIZE, noiseStd: DEFAULT_NOISE_STD, seed: DEFAULT_VAL.seed + 1000 };
    const k = spec.kernelSize;
    const rng = new Random(spec.seed + i);
    const kernel = randomKernel(rng, k);
    // Whole photo for a training entry; the centre (size + k − 1)² window for validation.
    const outH = spec.size > 0 ? spec.size : e.height - k + 1;
    const outW = spec.size > 0 ? spec.size : e.width - k + 1;
    const top = (e.height - (outH + k - 1)) >> 1;
    const left = (e.width - (outW + k - 1)) >> 1;
    const window = cropPlanar(photo.rgb, e.height, e.width, top, left, outH + k - 1, outW + k - 1);
    const blur = blurImage(window, outH + k - 1, outW + k - 1, kernel, k, { noiseStd: spec.noiseStd, rng });
    const margin = (k - 1) / 2;
    const sharp = cropPlanar(photo.rgb, e.height, e.width, top + margin, left + margin, outH, outW);
    return { name: e.name, blur: blur.rgb, sharp, width: outW, height: outH };
  }

  private entry(i: number): PairEntry {
    if (!Number.isInteger(i) || i < 0 || i >= this.entries.length) {
      throw new RangeError(`${this.role} split: index ${i} out of range [0, ${this.entries.length})`);
    }
    return this.entries[i];
  }
}

function floorToMultiple(n: number): number {
  return n - (n % SIZE_MULTIPLE);
}

/** Decodes a PNG that passed validation; a failure now (corrupt pixel data) still names the file. */
export function decode(root: string, path: string, name: string, width: number, height: number): { rgb: Float32Array; width: number; height: number } {
  let image;
  try {
    image = readImage(path);
  } catch (e) {
    const message = (e as Error).message;
    const detail = message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message;
    throw new DatasetError(root, [`${relative(root, path) || name}: ${detail}`]);
  }
  if (image.width !== width || image.height !== height) {
    throw new DatasetError(root, [`${relative(root, path) || name}: is now ${image.width}×${image.height}, but was ${width}×${height} when the dataset was opened`]);
  }
  return { rgb: image.rgb, width, height };
}

// ---------------------------------------------------------------------------------------------
// Opening and validation

/**
 * Opens 'default' (the embedded photos; a folder of that name is reached as './default') or a
 * directory in GoPro layout
 * (ROOT/{train,test}/<sequence>/{blur,sharp}/*.png) or flat layout (DIR/{blur,sharp}/*.png,
 * matched by file name). Throws DatasetError listing every problem found.
 */
export function openDataset(source: string): Dataset {
  if (source === 'default') return openDefault();
  const root = resolve(source);
  if (!isDirectory(root)) {
    throw new DatasetError(source, [exists(root) ? 'not a directory' : 'no such directory']);
  }
  if (isDirectory(join(root, 'blur')) || isDirectory(join(root, 'sharp'))) return openFlat(root);
  if (isDirectory(join(root, 'train'))) return openGoPro(root);
  throw new DatasetError(source, [
    'unknown layout: expected blur/ and sharp/ folders (flat layout) or train/<sequence>/{blur,sharp}/ (GoPro layout), or the word "default"',
  ]);
}

function openDefault(): Dataset {
  const root = DEFAULT_DATA_DIR;
  const problems: string[] = [];
  const names = listPngs(root, problems, root);
  const entries: PairEntry[] = [];
  for (const name of names) {
    const header = checkPng(join(root, name), name, problems);
    if (header) entries.push({ name, sharpPath: join(root, name), blurPath: null, width: header.width, height: header.height });
  }
  for (const name of DEFAULT_VAL_PHOTOS) {
    if (!names.includes(name)) problems.push(`${name}: missing (it is one of the validation photos)`);
  }
  const val = entries.filter((e) => DEFAULT_VAL_PHOTOS.includes(e.name));
  const train = entries.filter((e) => !DEFAULT_VAL_PHOTOS.includes(e.name));
  const needed = DEFAULT_VAL.size + DEFAULT_VAL.kernelSize - 1;
  for (const e of val) {
    if (e.width < needed || e.height < needed) problems.push(`${e.name}: ${e.width}×${e.height} is smaller than the ${needed}×${needed} a validation crop needs`);
  }
  if (train.length === 0 && problems.length === 0) problems.push('no training photos');
  if (problems.length) throw new DatasetError(root, problems);
  const { size, kernelSize, seed } = DEFAULT_VAL;
  return new Dataset({
    kind: 'default',
    root,
    train,
    val,
    syntheticVal: DEFAULT_VAL,
    valNote: `${val.map((e) => e.name).join(', ')}: ${size}×${size} centre crops, fixed ${kernelSize}×${kernelSize} kernels from seed ${seed}`,
  });
}

function openFlat(root: string): Dataset {
  const problems: string[] = [];
  const pairs = pairFolder(root, root, problems);
  if (problems.length === 0 && pairs.length === 0) problems.push('no .png pairs in blur/ and sharp/');
  checkValSizes(pairs.filter((_, i) => isFlatVal(i, pairs.length)), problems);
  if (problems.length) throw new DatasetError(root, problems);
  const val = pairs.filter((_, i) => isFlatVal(i, pairs.length));
  const train = pairs.filter((_, i) => !isFlatVal(i, pairs.length));
  return new Dataset({
    kind: 'flat',
    root,
    train,
    val,
    syntheticVal: null,
    valNote: val.length
      ? `no separate test split: every ${FLAT_VAL_EVERY}th pair by name is held out (at least one), centre-cropped to multiples of ${SIZE_MULTIPLE}`
      : 'a single pair: nothing held out',
  });
}

/** Held-out pairs of a flat folder: indices 9, 19, 29, … of the sorted list, or the last one if that picks none. */
function isFlatVal(i: number, n: number): boolean {
  if (n < 2) return false;
  if (n < FLAT_VAL_EVERY) return i === n - 1;
  return i % FLAT_VAL_EVERY === FLAT_VAL_EVERY - 1;
}

function openGoPro(root: string): Dataset {
  const problems: string[] = [];
  const train = goProSplit(root, 'train', problems);
  const hasTest = isDirectory(join(root, 'test'));
  const val = hasTest ? goProSplit(root, 'test', problems) : [];
  if (problems.length === 0 && train.length === 0) problems.push('train/ has no .png pairs');
  if (hasTest && problems.length === 0 && val.length === 0) problems.push('test/ has no .png pairs');
  checkValSizes(val, problems);
  if (problems.length) throw new DatasetError(root, problems);
  const sequences = (entries: PairEntry[]) => new Set(entries.map((e) => e.name.split('/')[1])).size;
  return new Dataset({
    kind: 'gopro',
    root,
    train,
    val,
    syntheticVal: null,
    valNote: hasTest
      ? `test/, ${sequences(val)} sequences; ${sequences(train)} training sequences`
      : `no test/ folder: nothing held out; ${sequences(train)} training sequences`,
  });
}

function goProSplit(root: string, split: 'train' | 'test', problems: string[]): PairEntry[] {
  const dir = join(root, split);
  const sequences = listDir(dir, problems, root)
    .filter((n) => !n.startsWith('.') && isDirectory(join(dir, n)))
    .sort(byCodeUnit);
  const entries: PairEntry[] = [];
  for (const seq of sequences) entries.push(...pairFolder(join(dir, seq), root, problems));
  return entries;
}

/** The pairs of DIR/blur and DIR/sharp matched by file name; problems are appended, not thrown. */
function pairFolder(dir: string, root: string, problems: string[]): PairEntry[] {
  const blurDir = join(dir, 'blur');
  const sharpDir = join(dir, 'sharp');
  const rel = (p: string) => relative(root, p) || basename(p);
  const hasBlur = isDirectory(blurDir);
  const hasSharp = isDirectory(sharpDir);
  if (!hasBlur || !hasSharp) {
    problems.push(
      hasBlur || hasSharp
        ? `${rel(dir)}: has ${hasBlur ? 'blur/' : 'sharp/'} but no ${hasBlur ? 'sharp/' : 'blur/'} folder`
        : `${rel(dir)}: has neither a blur/ nor a sharp/ folder`,
    );
    return [];
  }
  const blurNames = listPngs(blurDir, problems, root);
  const sharpNames = listPngs(sharpDir, problems, root);
  const sharpSet = new Set(sharpNames);
  const blurSet = new Set(blurNames);
  for (const n of blurNames) if (!sharpSet.has(n)) problems.push(`${rel(join(blurDir, n))}: no sharp partner (${rel(join(sharpDir, n))} is missing)`);
  for (const n of sharpNames) if (!blurSet.has(n)) problems.push(`${rel(join(sharpDir, n))}: no blurred partner (${rel(join(blurDir, n))} is missing)`);
  const entries: PairEntry[] = [];
  for (const n of blurNames) {
    if (!sharpSet.has(n)) continue;
    const blurPath = join(blurDir, n);
    const sharpPath = join(sharpDir, n);
    const b = checkPng(blurPath, rel(blurPath), problems);
    const s = checkPng(sharpPath, rel(sharpPath), problems);
    if (!b || !s) continue;
    if (b.width !== s.width || b.height !== s.height) {
      problems.push(`${rel(blurPath)}: size ${b.width}×${b.height} differs from its sharp partner's ${s.width}×${s.height}`);
      continue;
    }
    entries.push({ name: rel(join(dir, n)), sharpPath, blurPath, width: s.width, height: s.height });
  }
  return entries;
}

function checkValSizes(val: PairEntry[], problems: string[]): void {
  for (const e of val) {
    if (e.width < MIN_SIZE || e.height < MIN_SIZE) {
      problems.push(`${e.name}: validation pair is ${e.width}×${e.height}; LMFN needs at least ${MIN_SIZE}×${MIN_SIZE}`);
    }
  }
}

function listPngs(dir: string, problems: string[], root: string): string[] {
  return listDir(dir, problems, root)
    .filter((n) => !n.startsWith('.') && n.toLowerCase().endsWith('.png') && isFile(join(dir, n)))
    .sort(byCodeUnit);
}

function listDir(dir: string, problems: string[], root: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    problems.push(`${relative(root, dir) || dir}: cannot list (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    return [];
  }
}

// Code-unit order: the same on every machine, whatever the locale.
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

function checkPng(path: string, name: string, problems: string[]): { width: number; height: number } | null {
  try {
    return readPngHeader(path, name);
  } catch (e) {
    if (!(e instanceof ImageError)) throw e;
    problems.push(e.message);
    return null;
  }
}
