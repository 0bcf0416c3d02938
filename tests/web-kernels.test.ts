// The engine's kernel-family tests and LMFN's gradient check inside a web page,
// on Chromium's own WebGPU adapter (tests/web/in-page.ts holds the cases: the
// float64 references of the Node tests, the engine's browser build). The page
// and its bundle (kernels inlined) are served from memory on 127.0.0.1.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { build } from 'esbuild';
import { createServer, type Server } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
// @ts-expect-error: a plain-JS esbuild plugin shared with scripts/build.mjs and web/serve.mjs
import { inlineWgsl } from '../scripts/inline-wgsl.mjs';
import { launchChromium } from '../bench/chromium.ts';
import type { runInPage } from './web/in-page.ts';

const here = dirname(fileURLToPath(import.meta.url));
let server: Server;
let browser: Browser;
let page: Page;

test.before(async () => {
  const bundle = await build({
    entryPoints: [join(here, 'web/in-page.ts')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
    write: false, plugins: [inlineWgsl], logLevel: 'error',
  });
  const js = bundle.outputFiles[0].contents;
  const html = '<!doctype html><meta charset="utf-8"><title>in-page tests</title><script type="module" src="in-page.js"></script>';
  server = createServer((req, res) => {
    const isJs = req.url === '/in-page.js';
    res.writeHead(200, { 'content-type': isJs ? 'text/javascript' : 'text/html' });
    res.end(isJs ? js : html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  browser = await launchChromium();
  page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
  await page.waitForFunction(() => 'runInPage' in window, null, { timeout: 60_000 });
  assert.equal(errors, []);
});

test.after(async () => {
  await browser?.close();
  server?.close();
});

type Outcome = Awaited<ReturnType<typeof runInPage>>;
const run = (families: string[], withLmfn: boolean): Promise<Outcome> =>
  page.evaluate(([f, l]) => (window as unknown as { runInPage: typeof runInPage }).runInPage(f as ('tiled' | 'direct')[], l as boolean), [families, withLmfn] as const);

function report(outcome: Outcome): void {
  const failed = outcome.results.filter((r) => r.failures.length);
  const lines = outcome.results.map((r) => `${r.failures.length ? '✘' : '✓'} ${r.name} (${(r.ms / 1000).toFixed(1)} s)${r.failures.length ? `: ${r.failures.join('; ')}` : ''}`);
  console.log(`# in-page on ${outcome.adapter.implementation} (${outcome.adapter.backend})\n# ${lines.join('\n# ')}`);
  assert.equal(failed.map((r) => `${r.name}: ${r.failures.join('; ')}`), []);
}

test('in the page, tiled kernels: conv2d (3×3, strided, 1×1) and batched matmul, forward and backward, and LMFN\'s 176 gradients', async () => {
  const outcome = await run(['tiled'], true);
  assert.is(outcome.adapter.backend, 'webgpu');
  assert.is(outcome.results.length, 5);
  report(outcome);
});

test('in the page, direct kernels: conv2d and batched matmul, forward and backward', async () => {
  const outcome = await run(['direct'], false);
  assert.is(outcome.results.length, 4);
  report(outcome);
});

test.run();
