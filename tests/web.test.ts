// The deblurring page end to end in a real browser: Debian's Chromium
// (/usr/bin/chromium, never a downloaded one) driven by playwright-core, on
// Chromium's own WebGPU adapter. The page is served by `web/serve.mjs` with
// weights from `lmfn init`; its output for a picture must equal
// `lmfn deblur --tile 0` on the same weights within 1e-5. A screenshot is kept
// in runs/test-artifacts/. The page also has to fail clearly without WebGPU,
// and its training panel has to train.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, servePage } from '../bench/chromium.ts';
import { encodePng } from '../train/png.ts';
import { readSafetensors } from '../engine/node/index.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'lmfn-web-'));
const artifacts = join(root, 'runs/test-artifacts');
const H = 80;
const W = 96; // not multiples of 16: the page pads to the size rule and crops back, as the CLI does

let server: { url: string; stop(): void };
let url: string;
let browser: Browser;

function lmfn(...args: string[]): void {
  const { FORCE_COLOR: _, ...env } = process.env;
  execFileSync('node', [join(root, 'bin/lmfn.mjs'), ...args], { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 600_000 });
}

/** A picture with edges, gradients and flat areas, as an 8-bit RGB PNG. */
function testPicture(path: string): void {
  const rgb = new Float32Array(3 * H * W);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const p = y * W + x;
      rgb[p] = ((x + 2 * y) % 37) / 36;
      rgb[H * W + p] = (Math.floor(x / 9) + Math.floor(y / 7)) % 2 ? 0.85 : 0.1;
      rgb[2 * H * W + p] = 0.5 + 0.5 * Math.sin(Math.hypot(x - 40, y - 30) / 4);
    }
  }
  writeFileSync(path, encodePng({ width: W, height: H, rgb, alpha: null, bitDepth: 8, channels: 'rgb' }));
}

async function openPage(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 1100 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.evaluate(() => window.lmfn.ready);
  assert.equal(errors, [], 'no uncaught errors in the page');
  return page;
}

test.before(async () => {
  lmfn('init', '--seed', '5', '--output', join(work, 'w.safetensors'));
  testPicture(join(work, 'picture.png'));
  server = await servePage(['--weights', join(work, 'w.safetensors')]);
  url = server.url;
  browser = await launchChromium();
  mkdirSync(artifacts, { recursive: true });
});

test.after(async () => {
  await browser?.close();
  server?.stop();
  rmSync(work, { recursive: true, force: true });
});

test("the page deblurs a chosen picture on the browser's adapter, as `lmfn deblur --tile 0` does", async () => {
  const page = await openPage();
  const found = await page.evaluate(() => ({ error: window.lmfn.error, adapter: window.lmfn.adapter, weights: window.lmfn.weights }));
  assert.is(found.error, null);
  assert.is(found.adapter!.backend, 'webgpu');
  assert.is(found.weights, 'weights.safetensors');
  assert.match(await page.textContent('#adapter') ?? '', /^adapter: .*\[(CPU|GPU): /);

  await page.setInputFiles('#image-file', join(work, 'picture.png'));
  await page.waitForFunction(() => window.lmfn.lastOutput || document.getElementById('status')!.classList.contains('error'), null, { timeout: 600_000 });
  assert.is(await page.evaluate(() => window.lmfn.error), null);
  const out = await page.evaluate(() => ({ ...window.lmfn.lastOutput!, rgb: Array.from(window.lmfn.lastOutput!.rgb) }));
  assert.equal([out.h, out.w], [H, W]);

  lmfn('deblur', '--weights', join(work, 'w.safetensors'), '--input', join(work, 'picture.png'), '--output', join(work, 'cli.safetensors'), '--tile', '0');
  const cli = readSafetensors(join(work, 'cli.safetensors')).tensors.get('image')!;
  assert.equal(cli.shape, [1, 3, H, W]);
  let worst = 0;
  for (let i = 0; i < cli.data.length; i++) worst = Math.max(worst, Math.abs(out.rgb[i] - cli.data[i]));
  assert.ok(worst <= 1e-5, `page vs CLI: max |difference| ${worst}`);
  // Random weights move the picture: the comparison above compares something.
  assert.ok(out.rgb.some((v, i) => Math.abs(v - cli.data[i]) < 1e-5 && Math.abs(v) > 1e-3), 'outputs are non-trivial');

  assert.ok(await page.isVisible('#compare'), 'before/after comparison shown');
  assert.match((await page.getAttribute('#download', 'href')) ?? '', /^blob:/, 'the result is offered as a download');
  await page.fill('#split', '30');
  await page.screenshot({ path: join(artifacts, 'web-deblur.png'), fullPage: true });
  await page.close();
});

test('the training panel trains: the loss falls and the plot draws', async () => {
  const page = await openPage();
  await page.click('#train-start');
  // 20 steps: on SwiftShader, Chromium's CPU adapter, a step takes ~3 s.
  await page.waitForFunction(() => window.lmfn.training.some((p) => p.step >= 20), null, { timeout: 600_000 });
  await page.click('#train-stop');
  await page.waitForFunction(() => !window.lmfn.busy, null, { timeout: 120_000 });
  const points = await page.evaluate(() => window.lmfn.training);
  const losses = points.filter((p) => p.loss !== undefined).map((p) => p.loss!);
  assert.ok(losses.length >= 3 && losses.every(Number.isFinite), `losses: ${losses}`);
  assert.ok(points[0].valPsnr! > 0 && points[0].blurPsnr! > 0, 'validated at step 1');
  assert.ok(losses[losses.length - 1] < losses[0], `the loss falls: ${losses[0]} → ${losses[losses.length - 1]}`);
  assert.ok(await page.isVisible('#loss-plot svg'), 'the loss plot is drawn');
  assert.is(await page.evaluate(() => window.lmfn.error), null);
  await page.screenshot({ path: join(artifacts, 'web-train.png'), fullPage: true });
  await page.close();
});

test('without WebGPU the page says so in one line and disables its controls', async () => {
  const page = await browser.newPage();
  // As text: a function would be serialised with tsx's helpers, which the page lacks.
  await page.addInitScript({ content: "Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined });" });
  await page.goto(url);
  await page.evaluate(() => window.lmfn.ready);
  const text = (await page.textContent('#adapter')) ?? '';
  assert.ok(/^no WebGPU adapter found\. This browser has no WebGPU/.test(text), `the page says: ${text}`);
  assert.ok(await page.isDisabled('#image-file'), 'the picture input is disabled');
  assert.ok(await page.isDisabled('#train-start'), 'training is disabled');
  await page.close();
});

test.run();
