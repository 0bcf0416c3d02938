// The `lmfn` command as a user runs it (in-process, through train/cli/main.ts main):
// init, deblur on odd sizes and alpha, grads against the float64 reference,
// malformed checkpoints, and training with an exact resume.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../train/cli/main.ts';
import { learningRate } from '../train/loop/step.ts';
import { readSafetensors, serializeSafetensors, writeSafetensors } from '../engine/node/index.ts';
import { readImage, writeImage } from '../train/image.ts';
import { lmfnLossAndGrads, lmfnRandomWeights } from './ref/lmfn64.ts';
import { assertClose, maxAbs, rng } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'lmfn-cli-'));
const weights = join(dir, 'w.safetensors');

/** Runs `lmfn ...args`, capturing what it prints. */
async function lmfn(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void (out += a.join(' ') + '\n');
  console.error = (...a: unknown[]) => void (err += a.join(' ') + '\n');
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}

function planar(h: number, w: number, seed: number): Float32Array {
  return Float32Array.from(rng(seed).uniform(3 * h * w, 0, 1));
}

test('init writes the 176 spec tensors; --help and bad flags are handled', async () => {
  const r = await lmfn('init', '--output', weights, '--seed', '3');
  assert.is(r.code, 0, r.err);
  const file = readSafetensors(weights);
  assert.is(file.tensors.size, 176);
  assert.equal(file.tensors.get('decoder.tail.weight')!.shape, [48, 50, 3, 3]);
  const help = await lmfn('deblur', '--help');
  assert.is(help.code, 0);
  assert.match(help.out, '--tile');
  const bad = await lmfn('init', '--outptu', 'x');
  assert.is(bad.code, 2);
  assert.match(bad.err, 'unknown flag --outptu');
  assert.equal(bad.err.trim().split('\n'), ['lmfn init: unknown flag --outptu', "Run 'lmfn init --help' for its options."], 'a usage error is the message and one line naming --help');
  const unknown = await lmfn('nosuch');
  assert.is(unknown.code, 2);
  assert.is(unknown.err.trim().split('\n').length, 2, unknown.err);
});

test('deblur keeps odd sizes (37×53) and passes alpha through unchanged', async () => {
  const h = 37;
  const w = 53;
  const alpha = Float32Array.from({ length: h * w }, (_, i) => (i % 256) / 255);
  const input = join(dir, 'odd.png');
  writeImage(input, { width: w, height: h, rgb: planar(h, w, 1), alpha, bitDepth: 8, channels: 'rgba' });
  const output = join(dir, 'out', 'odd.png');
  const r = await lmfn('deblur', '--weights', weights, '--input', input, '--output', output);
  assert.is(r.code, 0, r.err);
  const got = readImage(output);
  assert.is(got.width, w);
  assert.is(got.height, h);
  assert.equal([...got.alpha!], [...alpha], 'alpha unchanged');
  assert.ok(got.rgb.every((v) => v >= 0 && v <= 1));
});

test('deblur: a directory in tiles; 16-bit stays 16-bit; a bad --tile is a usage error', async () => {
  const h = 96;
  const w = 160;
  const folder = join(dir, 'in');
  writeImage(join(folder, 'a.png'), { width: w, height: h, rgb: planar(h, w, 2), alpha: null, bitDepth: 16, channels: 'rgb' });
  writeImage(join(folder, 'b.png'), { width: 70, height: 66, rgb: planar(66, 70, 3), alpha: null, bitDepth: 8, channels: 'rgb' });
  const r = await lmfn('deblur', '--weights', weights, '--input', folder, '--output', join(dir, 'outdir'), '--tile', '64');
  assert.is(r.code, 0, r.err);
  assert.equal(readdirSync(join(dir, 'outdir')).sort(), ['a.png', 'b.png']);
  const a = readImage(join(dir, 'outdir', 'a.png'));
  assert.is(a.bitDepth, 16);
  assert.is(a.width, w);
  const badTile = await lmfn('deblur', '--weights', weights, '--input', folder, '--output', join(dir, 'o2'), '--tile', '50');
  assert.is(badTile.code, 2);
  assert.match(badTile.err, 'multiple of 16');
});

test('init --init identity: weights that deblur any picture into itself, whole or in blended tiles', async () => {
  const identity = join(dir, 'identity.safetensors');
  const r = await lmfn('init', '--init', 'identity', '--output', identity, '--seed', '5');
  assert.is(r.code, 0, r.err);
  assert.is(readSafetensors(identity).metadata.init, 'identity');
  assert.is(readSafetensors(weights).metadata.init, 'paper');
  const h = 96;
  const w = 150;
  const rgb = planar(h, w, 4);
  const input = join(dir, 'id16.png');
  writeImage(input, { width: w, height: h, rgb, alpha: null, bitDepth: 16, channels: 'rgb' });
  const original = readImage(input).rgb;
  for (const tile of ['0', '64']) {
    const output = join(dir, `id-out-${tile}.png`);
    const d = await lmfn('deblur', '--weights', identity, '--input', input, '--output', output, '--tile', tile);
    assert.is(d.code, 0, d.err);
    assertClose(readImage(output).rgb, original, `identity deblur, --tile ${tile}`, { rtol: 0, atol: 1 / 65535 });
  }
  const bad = await lmfn('init', '--init', 'zeros', '--output', identity);
  assert.is(bad.code, 2);
  assert.match(bad.err, "--init must be paper or identity, got 'zeros'");
});

test('a malformed checkpoint gets a specific error, not a stack trace', async () => {
  const input = join(dir, 'odd.png');
  const good = readSafetensors(weights);
  const cases: [string, Uint8Array | string, string][] = [];
  const bytes = readFileSync(weights);
  cases.push(['truncated', bytes.subarray(0, bytes.length - 100), 'truncated']);
  const huge = Buffer.from(bytes);
  huge.writeBigUInt64LE(2n ** 60n, 0);
  cases.push(['huge header length', huge, 'header']);
  const missing = new Map(good.tensors);
  missing.delete('decoder.acfm.alpha');
  cases.push(['missing key', serializeSafetensors(missing), 'decoder.acfm.alpha']);
  const extra = new Map(good.tensors);
  extra.set('decoder.extra', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
  cases.push(['extra key', serializeSafetensors(extra), 'decoder.extra']);
  const wrong = new Map(good.tensors);
  wrong.set('decoder.tail.bias', { dtype: 'F32', shape: [47], data: new Float32Array(47) });
  cases.push(['wrong shape', serializeSafetensors(wrong), 'decoder.tail.bias']);
  for (const [what, content, expected] of cases) {
    const path = join(dir, `bad-${what.replace(/ /g, '-')}.safetensors`);
    writeFileSync(path, content);
    const r = await lmfn('deblur', '--weights', path, '--input', input, '--output', join(dir, 'never.png'));
    assert.is(r.code, 1, `${what}: exit code`);
    assert.match(r.err, expected, `${what}: ${r.err}`);
    assert.not.match(r.err, /\n\s+at /, `${what}: no stack trace`);
  }
  assert.not.ok(existsSync(join(dir, 'never.png')), 'nothing was written');
  const gone = await lmfn('deblur', '--weights', join(dir, 'nope.safetensors'), '--input', input, '--output', join(dir, 'x.png'));
  assert.is(gone.code, 2);
  assert.match(gone.err, 'no such file');
});

test('grads matches the float64 reference (loss and every gradient, 64×64, θ and α non-zero)', async () => {
  const ref = lmfnRandomWeights(9, { theta: 0.3, alpha: 0.7 });
  const specShapes = readSafetensors(weights).tensors;
  const refFile = join(dir, 'ref.safetensors');
  writeSafetensors(refFile, new Map([...ref].map(([n, v]) => [n, { shape: specShapes.get(n)!.shape, data: Float32Array.from(v) }])));
  const blur = planar(64, 64, 4);
  const sharp = planar(64, 64, 5);
  const blurFile = join(dir, 'blur.safetensors');
  const sharpFile = join(dir, 'sharp.safetensors');
  writeSafetensors(blurFile, { image: { shape: [1, 3, 64, 64], data: blur } });
  writeSafetensors(sharpFile, { image: { shape: [1, 3, 64, 64], data: sharp } });
  const out = join(dir, 'grads.safetensors');
  const r = await lmfn('grads', '--weights', refFile, '--blur', blurFile, '--sharp', sharpFile, '--output', out);
  assert.is(r.code, 0, r.err);
  const got = readSafetensors(out).tensors;
  const expected = lmfnLossAndGrads(ref, Float64Array.from(blur), [1, 3, 64, 64], Float64Array.from(sharp));
  assert.is(got.size, 177);
  assertClose(got.get('loss')!.data, [expected.loss], 'loss', { rtol: 1e-4 });
  for (const [name, g] of expected.grads) {
    assertClose(got.get(name)!.data, g, `grad ${name}`, { rtol: 2e-3, atol: 2e-3 * maxAbs(g) + 1e-9 });
  }
  const odd = join(dir, 'odd.png');
  const sizeErr = await lmfn('grads', '--weights', refFile, '--blur', odd, '--sharp', odd, '--output', out);
  assert.is(sizeErr.code, 1);
  assert.match(sizeErr.err, 'multiples of 16');
});

const trainArgs = (out: string, steps: number) => [
  'train', '--data', 'default', '--out', out, '--steps', String(steps), '--batch', '2', '--crop', '64',
  '--val-every', '1000', '--log-every', '1', '--lr', '1e-3', '--init', 'paper',
];

test('learning rate: the step schedule, times a linear warm-up', () => {
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) <= 1e-12 * Math.abs(b), `${a} vs ${b}`);
  close(learningRate(1e-3, 0.1, 500, 0), 1e-3);
  close(learningRate(1e-3, 0.1, 500, 499), 1e-3);
  close(learningRate(1e-3, 0.1, 500, 500), 1e-4);
  close(learningRate(1e-3, 0.1, 500, 0, 100), 1e-5); // the first step runs at 1/100
  close(learningRate(1e-3, 0.1, 500, 49, 100), 5e-4);
  close(learningRate(1e-3, 0.1, 500, 99, 100), 1e-3);
  close(learningRate(1e-3, 0.1, 500, 1200, 100), 1e-5);
});

test('train starts from the identity by default: step 0 scores exactly the blurred input', async () => {
  const out = join(dir, 'run-identity');
  const args = trainArgs(out, 1).slice(0, -2);
  const r = await lmfn(...args);
  assert.is(r.code, 0, r.err);
  assert.match(r.err, 'identity init');
  const first = JSON.parse(readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n')[0]);
  assert.is(first.step, 0);
  assert.ok(Math.abs(first.val_psnr - first.blur_psnr) < 1e-3, `step 0: ${first.val_psnr} dB against the input's ${first.blur_psnr}`);
  assert.is(readSafetensors(join(out, 'last.safetensors')).metadata.init, 'identity');
});

test('train: the loss falls, and N steps + resume + M steps equals N+M steps straight', async () => {
  const straight = join(dir, 'run-straight');
  const split = join(dir, 'run-split');
  const a = await lmfn(...trainArgs(straight, 6));
  assert.is(a.code, 0, a.err);
  assert.is((await lmfn(...trainArgs(split, 3))).code, 0);
  const again = await lmfn(...trainArgs(split, 3));
  assert.is(again.code, 2, 'an existing run is not overwritten without --resume');
  const b = await lmfn(...trainArgs(split, 6), '--resume');
  assert.is(b.code, 0, b.err);
  const w1 = readSafetensors(join(straight, 'last.safetensors')).tensors;
  const w2 = readSafetensors(join(split, 'last.safetensors')).tensors;
  for (const [name, t] of w1) assert.equal(w2.get(name)!.data, t.data, `${name} identical after resume`);
  const losses = readFileSync(join(straight, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((m) => 'loss' in m).map((m) => m.loss);
  assert.is(losses.length, 6);
  assert.ok(losses[5] < losses[0], `loss fell: ${losses.join(', ')}`);
  for (const f of ['best.safetensors', 'last.state.safetensors', 'loss.svg']) assert.ok(existsSync(join(straight, f)), f);
  assert.ok(readdirSync(join(straight, 'val')).length === 2, 'validation pictures');
});

test('train: a non-finite loss stops the run and keeps the last good checkpoint', async () => {
  const out = join(dir, 'run-nan');
  const r = await lmfn(...trainArgs(out, 6).map((a) => (a === '1e-3' ? '1e10' : a)));
  assert.is(r.code, 1, 'exit code');
  assert.match(r.err, /the loss became (NaN|Infinity|-Infinity) at step \d/);
  const last = readSafetensors(join(out, 'last.safetensors'));
  assert.is(last.metadata.step, '0', 'the checkpoint is the last good one (step 0)');
  for (const [name, t] of last.tensors) assert.ok(t.data.every(Number.isFinite), `${name} finite`);
});

test('train: SIGTERM saves a checkpoint and exits cleanly; --resume continues', async () => {
  const out = join(dir, 'run-signal');
  const bin = fileURLToPath(new URL('../bin/lmfn.mjs', import.meta.url));
  const args = [bin, ...trainArgs(out, 1000).map((a) => (a === '2' ? '1' : a))];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    if (/step 2\/1000/.test(stderr) && !child.killed) child.kill('SIGTERM');
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.is(code, 0, stderr.slice(-500));
  assert.match(stdout, 'interrupted (SIGTERM)');
  const step = Number(readSafetensors(join(out, 'last.state.safetensors')).metadata.step);
  assert.ok(step >= 2 && step < 1000, `saved at step ${step}`);
  const resumed = await lmfn(...trainArgs(out, step + 1), '--resume');
  assert.is(resumed.code, 0, resumed.err);
  assert.is(readSafetensors(join(out, 'last.safetensors')).metadata.step, String(step + 1));
});

/** Starts `lmfn ...args` as a user does (bin/lmfn.mjs, supervised), collecting its output. */
function spawnLmfn(args: string[], env: Record<string, string> = {}) {
  const bin = fileURLToPath(new URL('../bin/lmfn.mjs', import.meta.url));
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1', ...env } });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (out.stdout += d));
  child.stderr.on('data', (d) => (out.stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, out, exited };
}

test('train: SIGTERM at a random moment, mid-compile included, ends it within 10 s and the run resumes exactly', async () => {
  const out = join(dir, 'run-random-signal');
  // Shader caches off: the first seconds are pipeline compiles (a long submit the event loop cannot leave).
  const delay = 1000 + Math.floor(Math.random() * 11000);
  const run = spawnLmfn(trainArgs(out, 1000), { MESA_SHADER_CACHE_DISABLE: 'true' });
  await new Promise((r) => setTimeout(r, delay));
  const signalled = performance.now();
  run.child.kill('SIGTERM');
  const code = await run.exited;
  const took = performance.now() - signalled;
  const context = `SIGTERM after ${delay} ms: exit ${code} after ${Math.round(took)} ms\n${run.out.stderr.slice(-400)}`;
  assert.ok(took < 10000, context);
  assert.ok(code === 0 || code === 143, context);
  assert.not.match(run.out.stderr, /^Warning: |XDG_RUNTIME_DIR|\.cpp:\d+/m, 'no native warning reaches the user');
  const step = Number(readSafetensors(join(out, 'last.state.safetensors')).metadata.step);
  assert.ok(step >= 0 && step < 1000, context);
  // Resumed one step further, it equals a run that was never interrupted.
  const resumed = await lmfn(...trainArgs(out, step + 1), '--resume');
  assert.is(resumed.code, 0, resumed.err);
  const straight = join(dir, 'run-random-signal-straight');
  assert.is((await lmfn(...trainArgs(straight, step + 1))).code, 0);
  const a = readSafetensors(join(out, 'last.safetensors'));
  const b = readSafetensors(join(straight, 'last.safetensors'));
  for (const [name, t] of b.tensors) assert.equal(a.tensors.get(name)!.data, t.data, `${name} after resuming from step ${step} (${context})`);
});

test.run();
