import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SafetensorsError,
  parseSafetensors,
  readSafetensors,
  serializeSafetensors,
  writeSafetensors,
} from '../engine/node/index.ts';

// Pure CPU: this file never touches the GPU.

const dir = mkdtempSync(join(tmpdir(), 'safetensors-test-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const bytesOf = (...parts: (number[] | Uint8Array)[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
const ascii = (s: string) => [...Buffer.from(s, 'utf8')];
const u64le = (n: bigint) => [...Array(8)].map((_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
const f32le = (...xs: number[]) => [...new Uint8Array(Float32Array.from(xs).buffer)];

/** A file built by hand from the spec: prefix, header text as given (no padding), data bytes. */
function raw(header: string, data: number[] | Uint8Array = [], headerLength?: bigint): Uint8Array {
  const h = ascii(header);
  return bytesOf(u64le(headerLength ?? BigInt(h.length)), h, data);
}

/** A header for well-formed F32 entries laid out in order, to be broken one field at a time. */
function entries(spec: Record<string, unknown>): string {
  return JSON.stringify(spec);
}

function rejects(bytes: Uint8Array, ...parts: (string | RegExp)[]): void {
  rejectsWith(() => parseSafetensors(bytes, { source: 'bad.safetensors' }), 'bad.safetensors', ...parts);
}

function rejectsWith(fn: () => unknown, ...parts: (string | RegExp)[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof SafetensorsError)) {
    throw new Error(`expected SafetensorsError, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  }
  for (const p of parts) {
    const ok = typeof p === 'string' ? caught.message.includes(p) : p.test(caught.message);
    if (!ok) throw new Error(`error message "${caught.message}" lacks ${String(p)}`);
  }
}

function sameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.is(a.length, b.length, `${what}: length`);
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) assert.unreachable(`${what}: element ${i} is ${a[i]}, expected ${b[i]}`);
}

function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

// ---------------------------------------------------------------------------------------------
// Exact layout

// "b" before "a" on purpose: the writer keeps the caller's order unless asked to sort.
const handHeader = '{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[],"data_offsets":[8,12]}}';
// 1.5 = 0x3FC00000, -2 = 0xC0000000, 0.25 = 0x3E800000, stored little-endian.
const handData = [0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x80, 0x3e];

test('serialises to exactly the bytes the spec prescribes', () => {
  assert.is(handHeader.length, 138);
  const padding = Array(6).fill(0x20); // 138 + 6 = 144, a multiple of 8
  const expected = bytesOf([144, 0, 0, 0, 0, 0, 0, 0], ascii(handHeader), padding, handData);
  const tensors = new Map([
    ['b', { shape: [2], data: Float32Array.of(1.5, -2) }],
    ['a', { shape: [], data: Float32Array.of(0.25) }],
  ]);
  assert.equal(serializeSafetensors(tensors, { format: 'pt' }), expected);

  const parsed = parseSafetensors(expected);
  assert.equal([...parsed.tensors.keys()], ['b', 'a']);
  assert.equal(parsed.tensors.get('b'), { dtype: 'F32', shape: [2], data: Float32Array.of(1.5, -2) });
  assert.equal(parsed.tensors.get('a'), { dtype: 'F32', shape: [], data: Float32Array.of(0.25) });
  assert.equal(parsed.metadata, { format: 'pt' });
});

test('sortKeys lays tensors out by name, like the safetensors Python package', () => {
  const header = '{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
  assert.is(header.length, 107);
  const expected = bytesOf(u64le(112n), ascii(header), Array(5).fill(0x20), handData.slice(8), handData.slice(0, 8));
  const tensors = { b: { shape: [2], data: Float32Array.of(1.5, -2) }, a: { shape: [], data: Float32Array.of(0.25) } };
  assert.equal(serializeSafetensors(tensors, undefined, { sortKeys: true }), expected);
  // Byte order of UTF-8, not UTF-16: U+FF5E sorts before U+1F600 although its UTF-16 unit is larger.
  const names = [...parseSafetensors(serializeSafetensors([['😀', { shape: [0], data: new Float32Array() }], ['～', { shape: [0], data: new Float32Array() }], ['Z', { shape: [0], data: new Float32Array() }]], undefined, { sortKeys: true })).tensors.keys()];
  assert.equal(names, ['Z', '～', '😀']);
});

test('an empty checkpoint is "{}" padded to 8 bytes', () => {
  assert.equal(serializeSafetensors([]), bytesOf(u64le(8n), ascii('{}      ')));
  assert.is(parseSafetensors(serializeSafetensors([])).tensors.size, 0);
});

test('reads data whose section does not start 4-aligned, and from a Node Buffer', () => {
  // A 5-byte header: a writer that does not pad leaves the data at file offset 13.
  const header = '{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}';
  const bytes = raw(header, f32le(1, -0, 3.25));
  assert.is((8 + header.length) % 4, 3);
  sameBits(parseSafetensors(bytes).tensors.get('x')!.data, Float32Array.of(1, -0, 3.25), 'unaligned');
  // An odd byteOffset into a larger buffer, and Buffer (whose slice() is a view, not a copy).
  const big = new Uint8Array(bytes.length + 3);
  big.set(bytes, 3);
  sameBits(parseSafetensors(big.subarray(3)).tensors.get('x')!.data, Float32Array.of(1, -0, 3.25), 'offset view');
  const buf = Buffer.concat([Buffer.alloc(1), Buffer.from(bytes)]).subarray(1);
  const x = parseSafetensors(buf).tensors.get('x')!.data;
  sameBits(x, Float32Array.of(1, -0, 3.25), 'Buffer');
  assert.is(x.buffer.byteLength, 12, 'the tensor owns its own copy');
});

// ---------------------------------------------------------------------------------------------
// Round trips and atomic writes

test('round trip through a file: odd shapes, scalar, [1], empty, large, special values, metadata', () => {
  const special = Float32Array.of(NaN, Infinity, -Infinity, -0, 1e-45, 3.4028234663852886e38, 1 / 3);
  const tensors: [string, { shape: number[]; data: Float32Array }][] = [
    ['encoder.head.weight', { shape: [5, 3, 3, 3], data: seeded(135, 1) }],
    ['scalar', { shape: [], data: Float32Array.of(0.7) }],
    ['alpha', { shape: [1], data: Float32Array.of(-0.3) }],
    ['empty', { shape: [0, 7], data: new Float32Array(0) }],
    ['large', { shape: [64, 64, 3, 3, 7], data: seeded(64 * 64 * 9 * 7, 2) }],
    ['special', { shape: [7], data: special }],
    // Integer-like names, which plain JS objects would reorder.
    ['10', { shape: [1, 1, 1], data: Float32Array.of(10) }],
    ['2', { shape: [1], data: Float32Array.of(2) }],
    ['ünïcødé ✓', { shape: [2], data: Float32Array.of(1, 2) }],
  ];
  const metadata = { model: 'test', seed: '7', quote: 'a "b" \\ c\nd', 'ключ': 'значение' };
  const path = join(dir, 'round.safetensors');
  writeSafetensors(path, tensors, metadata);
  const file = readSafetensors(path);
  assert.equal([...file.tensors.keys()], tensors.map(([n]) => n), 'order is kept');
  for (const [name, t] of tensors) {
    const got = file.tensors.get(name)!;
    assert.is(got.dtype, 'F32');
    assert.equal(got.shape, t.shape, `${name} shape`);
    sameBits(got.data, t.data, name);
  }
  assert.equal(file.metadata, metadata);
  assert.equal(readFileSync(path), Buffer.from(serializeSafetensors(tensors, metadata)), 'file = serialised bytes');
  const again = parseSafetensors(readFileSync(path), { source: path });
  assert.equal([...again.tensors.keys()], [...file.tensors.keys()]);
  for (const [name, t] of again.tensors) sameBits(t.data, file.tensors.get(name)!.data, `parsed ${name}`);
  // A written file re-serialises to the same bytes (the property the LMFN golden files rely on).
  assert.equal(serializeSafetensors(file.tensors, file.metadata), serializeSafetensors(tensors, metadata));
});

test('Record input, and no "__metadata__" when none is given', () => {
  const bytes = serializeSafetensors({ w: { shape: [2, 1], data: Float32Array.of(1, 2) } });
  const text = Buffer.from(bytes).toString('utf8');
  assert.not.ok(text.includes('__metadata__'));
  const file = parseSafetensors(bytes);
  assert.equal(file.metadata, {});
  assert.equal(file.tensors.get('w')!.shape, [2, 1]);
  assert.ok(Buffer.from(serializeSafetensors({}, {})).toString('utf8').includes('"__metadata__":{}'));
});

test('atomic write replaces an existing file and leaves no temporary files', () => {
  const sub = join(dir, 'atomic');
  mkdirSync(sub);
  const path = join(sub, 'ckpt.safetensors');
  writeFileSync(path, 'old contents');
  writeSafetensors(path, [['w', { shape: [3], data: Float32Array.of(1, 2, 3) }]]);
  assert.equal(readdirSync(sub), ['ckpt.safetensors']);
  assert.equal(readSafetensors(path).tensors.get('w')!.data, Float32Array.of(1, 2, 3));
  writeSafetensors(path, [['v', { shape: [1], data: Float32Array.of(9) }]], { step: '2' });
  assert.equal(readdirSync(sub), ['ckpt.safetensors']);
  assert.equal([...readSafetensors(path).tensors.keys()], ['v']);
});

test('a failed write removes its temporary file and keeps the old checkpoint', () => {
  const sub = join(dir, 'failing');
  mkdirSync(sub);
  const path = join(sub, 'ckpt.safetensors');
  writeSafetensors(path, [['w', { shape: [1], data: Float32Array.of(1) }]]);
  const before = readFileSync(path);
  // Renaming a file over a non-empty directory fails after the temp file is complete.
  const blocker = join(sub, 'blocker');
  mkdirSync(blocker);
  writeFileSync(join(blocker, 'x'), '');
  let threw = false;
  try {
    writeSafetensors(blocker, [['w', { shape: [1], data: Float32Array.of(2) }]]);
  } catch {
    threw = true;
  }
  assert.ok(threw, 'renaming over a directory throws');
  assert.equal(readdirSync(sub).sort(), ['blocker', 'ckpt.safetensors']);
  // Bad input fails before any file is created.
  rejectsWith(() => writeSafetensors(path, [['w', { shape: [2], data: Float32Array.of(1) }]]), path);
  assert.equal(readdirSync(sub).sort(), ['blocker', 'ckpt.safetensors']);
  assert.equal(readFileSync(path), before);
});

// ---------------------------------------------------------------------------------------------
// expect: the key set and every shape

test('expect: exact key set and shapes', () => {
  const path = join(dir, 'expect.safetensors');
  writeSafetensors(path, [
    ['a', { shape: [2, 3], data: seeded(6, 3) }],
    ['b', { shape: [1], data: Float32Array.of(1) }],
    ['c', { shape: [], data: Float32Array.of(2) }],
  ]);
  const ok = readSafetensors(path, { expect: { c: [], a: [2, 3], b: [1] } });
  assert.is(ok.tensors.size, 3);
  readSafetensors(path, { expect: new Map([['a', [2, 3]], ['b', [1]], ['c', []]]) });
  rejectsWith(() => readSafetensors(path, { expect: { a: [2, 3], b: [1], c: [], d: [4], e: [5] } }), path, 'missing "d", "e"');
  rejectsWith(() => readSafetensors(path, { expect: { a: [2, 3] } }), path, 'unexpected "b", "c"');
  rejectsWith(() => readSafetensors(path, { expect: { a: [2, 3], b: [1], z: [] } }), 'missing "z"', 'unexpected "c"');
  const many = Object.fromEntries([...Array(9)].map((_, i) => [`k${i}`, [1]]));
  rejectsWith(() => readSafetensors(path, { expect: { a: [2, 3], b: [1], c: [], ...many } }), '"k0", "k1", "k2", "k3", "k4", … (9 in all)');
  rejectsWith(() => readSafetensors(path, { expect: { a: [3, 2], b: [1], c: [1] } }), path, '"a" is [2,3] in the file but [3,2] is expected', '"c" is [] in the file but [1] is expected');
  rejectsWith(() => parseSafetensors(readFileSync(path), { expect: { a: [6], b: [1], c: [] } }), '<bytes>', '"a" is [2,3]');
});

// ---------------------------------------------------------------------------------------------
// Malformed files: each its own message

const good = (name = 'x', begin = 0, end = 8, shape = [2]) => ({ [name]: { dtype: 'F32', shape, data_offsets: [begin, end] } });

test('length prefix: short file, absurd or overlong header length', () => {
  rejects(new Uint8Array(0), 'file is 0 bytes, shorter than the 8-byte header length prefix');
  rejects(Uint8Array.of(2, 0, 0, 0, 0), 'file is 5 bytes');
  rejects(raw('{}', [], 2n ** 60n), 'header length 1152921504606846976 bytes exceeds the 100000000-byte limit');
  rejects(raw('{}', [], 2n ** 64n - 1n), 'exceeds the 100000000-byte limit');
  rejects(raw('{}', [], 100_000_001n), 'exceeds');
  rejects(raw('{}', [], 3n), 'header length 3 bytes runs past the end of the file (2 bytes follow the prefix');
  // A file cut inside its header.
  rejects(raw(entries(good()), f32le(1, 2)).subarray(0, 30), 'header length 54 bytes runs past the end');
});

test('header text: UTF-8, JSON, object, leading whitespace, duplicate keys', () => {
  rejects(bytesOf(u64le(4n), [0x7b, 0xff, 0xfe, 0x7d]), 'header is not valid UTF-8');
  rejects(raw('{"x":{"dtype":"F32",'), 'header is not valid JSON');
  rejects(raw('[1,2]'), 'header is not a JSON object but an array');
  rejects(raw('"hello" '), 'header is not a JSON object but a string');
  rejects(raw('null'), 'header is not a JSON object but null');
  rejects(raw(' {}'), "header must start with '{'");
  const x = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
  rejects(raw(`{"x":${x},"x":${x}}`, f32le(1)), 'header has duplicate key "x"');
  rejects(raw(`{"x":${x},"\\u0078":${x}}`, f32le(1)), 'duplicate key "x"');
  rejects(raw(`{"x":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32le(1)), 'duplicate key "dtype" in "x"');
  rejects(raw(`{"__metadata__":{"a":"1","a":"2"}}`), 'duplicate key "a" in "__metadata__"');
  // Keys that only look alike, and quotes/colons inside strings, are not duplicates.
  const tricky = parseSafetensors(raw(`{"__metadata__":{"k":"\\"x\\":{","k2":"}"},"x":${x},"x ":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32le(1, 2)));
  assert.equal([...tricky.tensors.keys()], ['x', 'x ']);
  assert.equal(tricky.metadata, { k: '"x":{', k2: '}' });
});

test('__metadata__ must be a string→string map', () => {
  rejects(raw('{"__metadata__":"v1"}'), '"__metadata__" must be a string→string map, not string "v1"');
  rejects(raw('{"__metadata__":null}'), 'not null');
  rejects(raw('{"__metadata__":["a"]}'), 'not an array');
  rejects(raw('{"__metadata__":{"seed":7}}'), 'but "seed" is number 7');
  rejects(raw('{"__metadata__":{"a":{"b":"c"}}}'), 'but "a" is an object');
});

test('tensor entries: missing fields, wrong types, unknown fields', () => {
  const data = f32le(1, 2);
  rejects(raw('{"x":[1]}', data), 'tensor "x": entry must be an object', 'not an array');
  rejects(raw('{"x":{"shape":[2],"data_offsets":[0,8]}}', data), 'tensor "x": missing "dtype"');
  rejects(raw('{"x":{"dtype":"F32","data_offsets":[0,8]}}', data), 'tensor "x": missing "shape"');
  rejects(raw('{"x":{"dtype":"F32","shape":[2]}}', data), 'tensor "x": missing "data_offsets"');
  rejects(raw('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}}', data), 'tensor "x": unknown field "extra"');
  rejects(raw('{"x":{"dtype":32,"shape":[2],"data_offsets":[0,8]}}', data), 'tensor "x": dtype must be a string, not number 32');
  rejects(raw('{"x":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}', data), 'tensor "x": shape must be an array of non-negative integers, not 2');
  rejects(raw('{"x":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}}', data), 'shape must be an array of non-negative integers, not [1.5]');
  rejects(raw('{"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', data), 'not [-2]');
  rejects(raw('{"x":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}', data), 'not ["2"]');
  rejects(raw('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}', data), 'tensor "x": data_offsets must be [begin, end] with non-negative integers, not [0,8,8]');
  rejects(raw('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0.5,8]}}', data), 'not [0.5,8]');
  rejects(raw('{"x":{"dtype":"F32","shape":[2],"data_offsets":[-4,4]}}', data), 'not [-4,4]');
  rejects(raw('{"x":{"dtype":"F32","shape":[2],"data_offsets":{"begin":0}}}', data), 'data_offsets must be [begin, end]');
  rejects(raw('{"x":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}', data), 'tensor "x": data_offsets [8,0] have begin > end');
});

test('dtype other than F32 is refused by name', () => {
  rejects(raw(entries({ 'conv.weight': { dtype: 'F16', shape: [4], data_offsets: [0, 8] } }), f32le(1, 2)), 'tensor "conv.weight": dtype F16 is not supported (only F32');
  rejects(raw(entries({ step: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }), f32le(1, 2)), 'tensor "step": dtype I64 is not supported');
  rejects(raw(entries({ x: { dtype: 'f32', shape: [2], data_offsets: [0, 8] } }), f32le(1, 2)), 'dtype f32 is not supported');
});

test('offsets: out of range, truncated data, length mismatch', () => {
  rejects(raw(entries(good('x', 0, 16, [4])), f32le(1, 2)), 'tensor "x": data_offsets [0,16] run past the end of the data section (8 bytes; truncated file?)');
  const whole = raw(entries(good('x', 0, 16, [4])), f32le(1, 2, 3, 4));
  parseSafetensors(whole);
  rejects(whole.subarray(0, whole.length - 1), 'data_offsets [0,16] run past the end of the data section (15 bytes');
  rejects(raw(entries(good('x', 0, 8, [3])), f32le(1, 2)), 'tensor "x": shape [3] needs 3 × 4 = 12 bytes but data_offsets [0,8] span 8');
  rejects(raw(entries(good('x', 0, 8, [2, 2])), f32le(1, 2)), 'shape [2,2] needs 4 × 4 = 16 bytes');
  rejects(raw(entries(good('x', 0, 0, [])), f32le(1, 2)), 'shape [] needs 1 × 4 = 4 bytes but data_offsets [0,0] span 0');
});

test('coverage: overlaps, holes and trailing bytes (the reference demands exact, contiguous coverage)', () => {
  const data = f32le(1, 2, 3, 4);
  rejects(raw(entries({ ...good('a', 0, 8), ...good('b', 4, 12) }), f32le(1, 2, 3)), 'tensor "b" data_offsets [4,12] overlap "a" [0,8]');
  rejects(raw(entries({ ...good('a', 0, 8), ...good('b', 0, 8) }), f32le(1, 2)), 'tensor "b" data_offsets [0,8] overlap "a" [0,8]');
  rejects(raw(entries({ ...good('a', 0, 8), ...good('b', 12, 16, [1]) }), data), 'data bytes [8,12) belong to no tensor (a hole before "b")');
  rejects(raw(entries(good('a', 4, 12)), data), 'data bytes [0,4) belong to no tensor (a hole before "a")');
  rejects(raw(entries(good('a', 0, 8)), data), 'data bytes [8,16) at the end of the file belong to no tensor');
  rejects(raw('{}', [0]), 'data bytes [0,1) at the end of the file');
  // Header order need not be data order; zero-size tensors may sit at any boundary.
  const shuffled = parseSafetensors(raw(entries({ ...good('b', 8, 16), ...good('e', 8, 8, [0]), ...good('a', 0, 8) }), data));
  assert.equal([...shuffled.tensors.keys()], ['a', 'e', 'b'], 'in data order');
  sameBits(shuffled.tensors.get('b')!.data, Float32Array.of(3, 4), 'b');
  rejects(raw(entries({ ...good('a', 0, 8), ...good('e', 4, 4, [0]), ...good('b', 8, 16) }), data), 'tensor "e" data_offsets [4,4] overlap "a" [0,8]');
});

test('readSafetensors names the path; huge header length is refused before reading it', () => {
  const path = join(dir, 'hostile.safetensors');
  writeFileSync(path, raw('{}', [], 2n ** 60n));
  rejectsWith(() => readSafetensors(path), path, 'exceeds the 100000000-byte limit');
  writeFileSync(path, Uint8Array.of(1, 2, 3));
  rejectsWith(() => readSafetensors(path), path, 'file is 3 bytes');
  writeFileSync(path, raw(entries(good('w', 0, 8)), f32le(1)));
  rejectsWith(() => readSafetensors(path), path, 'tensor "w": data_offsets [0,8] run past the end of the data section (4 bytes');
  writeFileSync(path, raw(entries({ w: { dtype: 'BF16', shape: [2], data_offsets: [0, 4] } }), f32le(1)));
  rejectsWith(() => readSafetensors(path, { expect: { w: [2] } }), path, 'dtype BF16');
});

test('writer refuses what it cannot write', () => {
  const one = (data: Float32Array, shape: number[]) => [['w', { shape, data }]] as [string, { shape: number[]; data: Float32Array }][];
  rejectsWith(() => serializeSafetensors(one(Float32Array.of(1, 2), [3])), 'serializeSafetensors', 'tensor "w": shape [3] needs 3 values but data has 2');
  rejectsWith(() => serializeSafetensors(one(Float32Array.of(1), [-1])), 'tensor "w": shape must be an array of non-negative integers');
  rejectsWith(() => serializeSafetensors(one(Float32Array.of(1), [0.5, 2])), 'shape must be an array');
  rejectsWith(() => serializeSafetensors([['__metadata__', { shape: [1], data: Float32Array.of(1) }]]), '"__metadata__" is reserved');
  rejectsWith(() => serializeSafetensors([['w', { shape: [1], data: Float32Array.of(1) }], ['w', { shape: [1], data: Float32Array.of(2) }]]), 'tensor "w" appears twice');
  rejectsWith(() => serializeSafetensors([['w', { shape: [1], data: [1] as unknown as Float32Array }]]), 'data must be a Float32Array');
  rejectsWith(() => serializeSafetensors([], { seed: 7 as unknown as string }), 'metadata must be a string→string map, but "seed" is number 7');
});

test.run();
