// Comparison of the float64 LMFN reference against the independent PyTorch golden
// case in ../shared/golden (64×64, seed 7; see its README.md). Only tests use it,
// and only when that folder exists: a fresh clone has no ../shared.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { lmfnLossAndGrads, lmfnParameterSpecs, type T64 } from './lmfn64.ts';

export const GOLDEN_DIR = fileURLToPath(new URL('../../../shared/golden/', import.meta.url));

export interface StoredTensor {
  shape: number[];
  data: Float64Array;
}

/** Minimal safetensors reader: u64 LE header length, JSON header, little-endian F32 data. */
export function readSafetensors(path: string): { keys: string[]; tensors: Map<string, StoredTensor> } {
  const buf = readFileSync(path);
  const headerLen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const dataStart = 8 + headerLen;
  const keys = Object.keys(header).filter((k) => k !== '__metadata__');
  const tensors = new Map<string, StoredTensor>();
  for (const k of keys) {
    const { dtype, shape, data_offsets: [begin, end] } = header[k];
    if (dtype !== 'F32') throw new Error(`${path}: ${k} is ${dtype}, expected F32`);
    const n = shape.reduce((a, b) => a * b, 1);
    if (end - begin !== 4 * n || dataStart + end > buf.length) throw new Error(`${path}: ${k} has bad offsets`);
    // Copy out first: the data may not be 4-byte aligned inside the file buffer.
    const bytes = Uint8Array.prototype.slice.call(buf, dataStart + begin, dataStart + end);
    const data = Float64Array.from(new Float32Array(bytes.buffer, 0, n));
    tensors.set(k, { shape, data });
  }
  return { keys, tensors };
}

/** max |a − b| / max(max |b|, tiny): error relative to the tensor's scale. */
export function relError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let err = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= err)) err = d; // NaN propagates as a failure
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return err / Math.max(scale, 1e-30);
}

export interface GoldenReport {
  keyOrderMatches: boolean;
  outputRel: number;
  lossRel: number;
  /** Relative error of every layer activation, in forward order. */
  activations: { name: string; rel: number }[];
  /** Relative error of every parameter gradient and of the input gradient. */
  grads: { name: string; rel: number }[];
  seconds: number;
}

export function compareWithGolden(dir = GOLDEN_DIR): GoldenReport {
  const weightsFile = readSafetensors(`${dir}/weights.safetensors`);
  const io = readSafetensors(`${dir}/io.safetensors`).tensors;
  const acts = readSafetensors(`${dir}/activations.safetensors`).tensors;
  const gradsFile = readSafetensors(`${dir}/grads.safetensors`).tensors;
  const specs = lmfnParameterSpecs();
  const weights = new Map([...weightsFile.tensors].map(([k, t]) => [k, t.data]));
  const input = io.get('input')!;
  const shape = input.shape as [number, number, number, number];

  const activations: { name: string; rel: number }[] = [];
  const start = performance.now();
  const r = lmfnLossAndGrads(weights, input.data, shape, undefined, (name: string, t: T64) => {
    const g = acts.get(name);
    if (g) activations.push({ name, rel: relError(t.data, g.data) });
  });
  const seconds = (performance.now() - start) / 1000;
  const grads = specs.map(({ name }) => ({ name, rel: relError(r.grads.get(name)!, gradsFile.get(`grad.${name}`)!.data) }));
  grads.push({ name: 'input', rel: relError(r.inputGrad, gradsFile.get('grad.input')!.data) });
  return {
    keyOrderMatches: weightsFile.keys.length === specs.length && specs.every((s, i) => s.name === weightsFile.keys[i]),
    outputRel: relError(r.output, io.get('output')!.data),
    lossRel: Math.abs(r.loss - io.get('loss')!.data[0]) / Math.abs(io.get('loss')!.data[0]),
    activations,
    grads,
    seconds,
  };
}

export const goldenAvailable = (dir = GOLDEN_DIR) => existsSync(`${dir}/weights.safetensors`);
