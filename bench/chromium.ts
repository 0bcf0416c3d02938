// Debian's Chromium for the browser tests and bench/browser.ts: never a downloaded browser. The
// flags give headless Chromium its WebGPU (SwiftShader on a machine without a
// GPU) and keep it off the network.

import { existsSync } from 'node:fs';
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
