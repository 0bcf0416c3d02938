// Debian's Chromium and the page's server for the browser tests and bench/browser.ts: never a downloaded browser. The
// flags give headless Chromium its WebGPU (SwiftShader on a machine without a
// GPU) and keep it off the network.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless=new', '--enable-unsafe-webgpu', '--no-sandbox', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
];

/** A fresh browser (playwright gives it a fresh profile), or a one-line reason there is none. */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium), as .ci/run does`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
}

/** Starts the page's server (web/serve.mjs) on a free port with `args`; resolves with the URL it prints first. */
export function servePage(args: string[] = []): Promise<{ url: string; stop(): void }> {
  const server = spawn('node', [fileURLToPath(new URL('../web/serve.mjs', import.meta.url)), '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    server.stderr.on('data', (d) => (err += d));
    server.stdout.once('data', (d) => resolve({ url: String(d).trim().split('\n')[0], stop: () => server.kill() }));
    server.once('exit', (code) => reject(new Error(`web/serve.mjs exited (${code}): ${err}`)));
  });
}
