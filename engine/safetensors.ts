// safetensors reading and writing: the checkpoint format shared with PyTorch.
//
//   [8 bytes: little-endian u64 header length N][N bytes: UTF-8 JSON header][data section]
//
// The header maps each tensor name to {"dtype","shape","data_offsets":[begin,end]} (offsets
// relative to the data section) plus an optional "__metadata__" string→string map, and is
// padded with spaces so the data section starts 8-byte aligned. The reader is as strict as the
// reference implementation (huggingface/safetensors, `SafeTensors::read_metadata`): the header
// must start with '{', and the tensors must cover the data section exactly, contiguously, with
// no holes, no overlaps and no trailing bytes. It is stricter in three ways: only F32 tensors
// load, unknown fields in a tensor entry and duplicate JSON keys are rejected, and
// "__metadata__" must be an object (the reference also takes null).
//
// This module works on bytes, so it runs on any host: `readSafetensorsFrom` reads through a
// `ByteSource` (a file under Node, engine/node/files.ts; bytes in memory, `parseSafetensors`),
// and `safetensorsChunks` gives the pieces a writer puts down in order (atomically, in Node's
// `writeSafetensors`).

import { EngineError, formatShape } from './errors.ts';

/** A malformed or unexpected safetensors file, or tensors that cannot be written as one. */
export class SafetensorsError extends EngineError {
  override name = 'SafetensorsError';
}

/** The reference implementation's limit; a larger length prefix means a corrupt or hostile file. */
export const MAX_HEADER_BYTES = 100_000_000;

const PREFIX_BYTES = 8;
const F32_BYTES = 4;
const METADATA_KEY = '__metadata__';
const ENTRY_FIELDS = ['dtype', 'shape', 'data_offsets'];

export interface SafetensorsTensor {
  dtype: 'F32';
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsFile {
  /** In data-section order, which is header order for every writer we know of. */
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** Expected name → shape; the file's key set must equal it exactly. */
export type ExpectedShapes = Record<string, readonly number[]> | ReadonlyMap<string, readonly number[]>;

export interface ReadOptions {
  expect?: ExpectedShapes;
}

export interface ParseOptions extends ReadOptions {
  /** Names the bytes in error messages (a path, or "<bytes>" by default). */
  source?: string;
}

export interface TensorToWrite {
  shape: readonly number[];
  data: Float32Array;
}

/** A Map (e.g. `module.stateDict()`) or array of pairs keeps its order; a Record orders keys the JS way. */
export type TensorsToWrite = Iterable<readonly [string, TensorToWrite]> | Record<string, TensorToWrite>;

export interface WriteOptions {
  /**
   * Lay tensors out sorted by name (byte order of the UTF-8 names), as the `safetensors` Python
   * package does for single-dtype files. Default false: the caller's order, as writers that
   * walk a state_dict produce, so a file read and written again comes out byte-identical.
   */
  sortKeys?: boolean;
}

interface HeaderEntry {
  name: string;
  shape: number[];
  begin: number;
  end: number;
}

interface Header {
  /** Sorted by data_offsets. */
  entries: HeaderEntry[];
  metadata: Record<string, string>;
}

const littleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Random-access bytes to read a safetensors file from: a file, a buffer in memory. */
export interface ByteSource {
  /** Total bytes. */
  readonly size: number;
  /** Fills `bytes` from `position` on; throws if the source has fewer bytes than that. */
  readInto(bytes: Uint8Array, position: number): void;
}

/**
 * Reads and validates safetensors from `source`; only F32 tensors are accepted. The length
 * prefix and header are checked before any tensor is read, and each tensor is read straight
 * into its own (aligned) Float32Array.
 */
export function readSafetensorsFrom(source: ByteSource, options: ParseOptions = {}): SafetensorsFile {
  const name = options.source ?? '<bytes>';
  const prefix = new Uint8Array(Math.min(PREFIX_BYTES, source.size));
  source.readInto(prefix, 0);
  const headerBytes = headerLength(prefix, source.size, name);
  const dataStart = PREFIX_BYTES + headerBytes;
  const headerText = new Uint8Array(headerBytes);
  source.readInto(headerText, PREFIX_BYTES);
  const header = parseHeader(headerText, source.size - dataStart, name);
  checkExpected(header, options.expect, name);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of header.entries) {
    const data = new Float32Array((e.end - e.begin) / F32_BYTES);
    const bytes = new Uint8Array(data.buffer);
    source.readInto(bytes, dataStart + e.begin);
    if (!littleEndianHost) swapBytes4(bytes);
    tensors.set(e.name, { dtype: 'F32', shape: e.shape, data });
  }
  return { tensors, metadata: header.metadata };
}

/** Parses and validates safetensors bytes held in memory; tensor data is copied out. */
export function parseSafetensors(bytes: Uint8Array, options: ParseOptions = {}): SafetensorsFile {
  // Copied, not viewed: a view would keep the whole buffer alive and need not be 4-aligned.
  return readSafetensorsFrom({ size: bytes.length, readInto: (into, at) => into.set(bytes.subarray(at, at + into.length)) }, options);
}

/**
 * What a safetensors file holds, as the pieces to write one after another: the header
 * (padded with spaces to a multiple of 8), then each tensor's little-endian bytes. Everything
 * that can be wrong with the input fails here, naming `source`, before anything is written.
 */
export function safetensorsChunks(tensors: TensorsToWrite, metadata?: Record<string, string>, options: WriteOptions = {}, source = 'safetensors'): Uint8Array[] {
  const { header, items } = layout(tensors, metadata, options, source);
  return [header, ...items.map(({ data }) => leBytes(data))];
}

/** The file's bytes: header (padded with spaces to a multiple of 8) then the tensors, contiguous. */
export function serializeSafetensors(tensors: TensorsToWrite, metadata?: Record<string, string>, options: WriteOptions = {}): Uint8Array {
  const chunks = safetensorsChunks(tensors, metadata, options, 'serializeSafetensors');
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading

function fail(source: string, message: string): never {
  throw new SafetensorsError(`${source}: ${message}`);
}

/** Validates the u64 length prefix before anything is allocated or decoded on its word. */
function headerLength(prefix: Uint8Array, fileBytes: number, source: string): number {
  if (fileBytes < PREFIX_BYTES) {
    fail(source, `file is ${fileBytes} bytes, shorter than the ${PREFIX_BYTES}-byte header length prefix`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, PREFIX_BYTES).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    fail(source, `header length ${n} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt or not a safetensors file)`);
  }
  if (n > BigInt(fileBytes - PREFIX_BYTES)) {
    fail(source, `header length ${n} bytes runs past the end of the file (${fileBytes - PREFIX_BYTES} bytes follow the prefix; truncated?)`);
  }
  return Number(n);
}

function parseHeader(bytes: Uint8Array, dataBytes: number, source: string): Header {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    fail(source, 'header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(source, `header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(json)) {
    fail(source, `header is not a JSON object but ${json === null ? 'null' : Array.isArray(json) ? 'an array' : `a ${typeof json}`}`);
  }
  if (!text.startsWith('{')) fail(source, `header must start with '{' (the reference implementation rejects leading whitespace)`);
  const duplicate = findDuplicateKey(text);
  if (duplicate) fail(source, `header has duplicate key "${duplicate.key}"${duplicate.within ? ` in "${duplicate.within}"` : ''}`);

  const entries: HeaderEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(json)) {
    if (name === METADATA_KEY) metadata = parseMetadata(value, source);
    else entries.push(parseEntry(name, value, dataBytes, source));
  }

  // The reference sorts by offsets and then demands each tensor start where the last one ended
  // and the last end at the end of the file: exactly one byte layout per header.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: HeaderEntry | undefined;
  for (const e of entries) {
    if (e.begin > covered) {
      fail(source, `data bytes [${covered},${e.begin}) belong to no tensor (a hole before "${e.name}"); tensors must cover the data section contiguously`);
    }
    if (e.begin < covered && previous) {
      fail(source, `tensor "${e.name}" data_offsets [${e.begin},${e.end}] overlap "${previous.name}" [${previous.begin},${previous.end}]`);
    }
    covered = e.end;
    previous = e;
  }
  if (covered !== dataBytes) {
    fail(source, `data bytes [${covered},${dataBytes}) at the end of the file belong to no tensor; tensors must cover the data section exactly`);
  }
  return { entries, metadata };
}

function parseMetadata(value: unknown, source: string): Record<string, string> {
  if (!isPlainObject(value)) fail(source, `"${METADATA_KEY}" must be a string→string map, not ${describe(value)}`);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') fail(source, `"${METADATA_KEY}" must be a string→string map, but "${key}" is ${describe(v)}`);
  }
  return Object.fromEntries(Object.entries(value as Record<string, string>));
}

function parseEntry(name: string, value: unknown, dataBytes: number, source: string): HeaderEntry {
  const where = `tensor "${name}"`;
  if (!isPlainObject(value)) fail(source, `${where}: entry must be an object with dtype, shape and data_offsets, not ${describe(value)}`);
  for (const field of ENTRY_FIELDS) if (!(field in value)) fail(source, `${where}: missing "${field}"`);
  for (const field of Object.keys(value)) {
    if (!ENTRY_FIELDS.includes(field)) fail(source, `${where}: unknown field "${field}"`);
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== 'string') fail(source, `${where}: dtype must be a string, not ${describe(dtype)}`);
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    fail(source, `${where}: shape must be an array of non-negative integers, not ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    fail(source, `${where}: data_offsets must be [begin, end] with non-negative integers, not ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as number[];
  if (begin > end) fail(source, `${where}: data_offsets [${begin},${end}] have begin > end`);
  if (dtype !== 'F32') fail(source, `${where}: dtype ${dtype} is not supported (only F32 tensors can be loaded)`);
  if (end > dataBytes) {
    fail(source, `${where}: data_offsets [${begin},${end}] run past the end of the data section (${dataBytes} bytes; truncated file?)`);
  }
  const expected = byteLength(shape as number[]);
  if (end - begin !== expected) {
    const elements = expected / F32_BYTES;
    fail(source, `${where}: shape ${formatShape(shape as number[])} needs ${elements} × 4 = ${expected} bytes but data_offsets [${begin},${end}] span ${end - begin}`);
  }
  return { name, shape: shape as number[], begin, end };
}

function checkExpected(header: Header, expect: ExpectedShapes | undefined, source: string): void {
  if (!expect) return;
  const wanted = expect instanceof Map ? new Map(expect) : new Map(Object.entries(expect as Record<string, readonly number[]>));
  const found = new Map(header.entries.map((e) => [e.name, e.shape]));
  const missing = [...wanted.keys()].filter((k) => !found.has(k));
  const unexpected = [...found.keys()].filter((k) => !wanted.has(k));
  if (missing.length || unexpected.length) {
    const parts = [];
    if (missing.length) parts.push(`missing ${listNames(missing)}`);
    if (unexpected.length) parts.push(`unexpected ${listNames(unexpected)}`);
    fail(source, `tensor names do not match: ${parts.join('; ')}`);
  }
  const wrong = [...wanted].filter(([k, shape]) => !sameShape(found.get(k)!, shape));
  if (wrong.length) {
    const shown = wrong.slice(0, 5).map(([k, shape]) => `"${k}" is ${formatShape(found.get(k)!)} in the file but ${formatShape(shape)} is expected`);
    fail(source, `shape mismatch: ${shown.join('; ')}${wrong.length > 5 ? `; … (${wrong.length} in all)` : ''}`);
  }
}

function listNames(names: string[]): string {
  const shown = names.slice(0, 5).map((n) => `"${n}"`).join(', ');
  return names.length > 5 ? `${shown}, … (${names.length} in all)` : shown;
}

/**
 * JSON.parse keeps the last of two equal keys silently. This walks the (already valid) JSON
 * text once, keeping one key set per open object; a string followed by ':' is a key.
 */
function findDuplicateKey(text: string): { key: string; within?: string } | undefined {
  const stack: { keys: Set<string>; name?: string }[] = [];
  let lastKey: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') {
      stack.push({ keys: new Set(), name: lastKey });
      lastKey = undefined;
    } else if (c === '}') {
      stack.pop();
    } else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const raw = text.slice(i, j + 1);
      i = j;
      let k = j + 1;
      while (k < text.length && ' \t\n\r'.includes(text[k])) k++;
      if (text[k] === ':') {
        // Decoded, so "a" and "\u0061" count as the same key.
        const key = JSON.parse(raw) as string;
        const top = stack[stack.length - 1];
        if (top.keys.has(key)) return { key, within: top.name };
        top.keys.add(key);
        lastKey = key;
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Writing

function layout(tensors: TensorsToWrite, metadata: Record<string, string> | undefined, options: WriteOptions, source: string) {
  const pairs: (readonly [string, TensorToWrite])[] = isIterable(tensors) ? [...tensors] : Object.entries(tensors);
  const seen = new Set<string>();
  for (const [name, t] of pairs) {
    if (typeof name !== 'string') fail(source, `tensor names must be strings, not ${describe(name)}`);
    if (name === METADATA_KEY) fail(source, `"${METADATA_KEY}" is reserved and cannot name a tensor`);
    if (seen.has(name)) fail(source, `tensor "${name}" appears twice`);
    seen.add(name);
    if (!Array.isArray(t.shape) || !t.shape.every(isCount)) {
      fail(source, `tensor "${name}": shape must be an array of non-negative integers, not ${JSON.stringify(t.shape)}`);
    }
    if (!(t.data instanceof Float32Array)) fail(source, `tensor "${name}": data must be a Float32Array`);
    if (t.data.byteLength !== byteLength(t.shape)) {
      fail(source, `tensor "${name}": shape ${formatShape(t.shape)} needs ${byteLength(t.shape) / F32_BYTES} values but data has ${t.data.length}`);
    }
  }
  if (options.sortKeys) {
    const encoder = new TextEncoder();
    const utf8 = new Map(pairs.map(([n]) => [n, encoder.encode(n)]));
    pairs.sort(([a], [b]) => compareBytes(utf8.get(a)!, utf8.get(b)!));
  }

  // Built by hand, not by JSON.stringify of an object, which would move integer-like names
  // ("0", "12") to the front and break the header order = data order correspondence.
  const parts: string[] = [];
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) fail(source, `metadata must be a string→string map, not ${describe(metadata)}`);
    const fields = Object.entries(metadata).map(([k, v]) => {
      if (typeof v !== 'string') fail(source, `metadata must be a string→string map, but "${k}" is ${describe(v)}`);
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    });
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${fields.join(',')}}`);
  }
  let offset = 0;
  for (const [name, t] of pairs) {
    const end = offset + t.data.byteLength;
    parts.push(`${JSON.stringify(name)}:{"dtype":"F32","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const header = new Uint8Array(PREFIX_BYTES + padded).fill(0x20, PREFIX_BYTES + json.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, PREFIX_BYTES);
  return { header, items: pairs.map(([name, t]) => ({ name, data: t.data })), dataBytes: offset };
}

function leBytes(data: Float32Array): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return littleEndianHost ? bytes : swapBytes4(bytes.slice());
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function byteLength(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1) * F32_BYTES;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isIterable(x: TensorsToWrite): x is Iterable<readonly [string, TensorToWrite]> {
  return typeof (x as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function';
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  return typeof x === 'object' ? 'an object' : `${typeof x} ${JSON.stringify(x)}`;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function swapBytes4(bytes: Uint8Array): Uint8Array {
  for (let i = 0; i + 3 < bytes.length; i += 4) {
    [bytes[i], bytes[i + 3]] = [bytes[i + 3], bytes[i]];
    [bytes[i + 1], bytes[i + 2]] = [bytes[i + 2], bytes[i + 1]];
  }
  return bytes;
}
