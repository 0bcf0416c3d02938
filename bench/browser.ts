// What a deblur costs in the page against Node, on this machine: for each size,
// a fresh Chromium (fresh profile: no pipeline cache) opens the page served by
// web/serve.mjs and deblurs the same picture twice (cold: compiles included;
// warm), and a fresh Node process does the same through the engine on the
// adapter named (MESA_SHADER_CACHE_DISABLE=true, so GL's first run compiles too).
//
//   npx tsx bench/browser.ts [--sizes 256,720x1280] [--node gl,swiftshader] [--family tiled|direct] [--json]
//
// Weights: LMFN's identity start (the cost does not depend on the values).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init, useKernelFamily, type KernelFamily } from '../engine/node/index.ts';
import { deblur, autoTile } from '../model/deblur.ts';
import { LMFN } from '../model/lmfn.ts';
import { encodePng } from '../train/png.ts';
import { launchChromium, servePage } from './chromium.ts';

interface Row {
  where: string;
  adapter: string;
  size: string;
  tile: number;
  coldMs: number;
  warmMs: number;
}

function picture(h: number, w: number): Float32Array {
  const rgb = new Float32Array(3 * h * w);
  for (let i = 0; i < rgb.length; i++) rgb[i] = 0.5 + 0.4 * Math.sin(i * 0.013) * Math.cos(i * 0.0007);
  return rgb;
}

/** In this process (a child started by `inNode`): two deblurs on WGRAD_ADAPTER's device. */
async function nodeChild(h: number, w: number, family?: KernelFamily): Promise<void> {
  const device = await init();
  if (family) useKernelFamily(device, family);
  const model = new LMFN(device, { init: 'identity' });
  const rgb = picture(h, w);
  const tile = autoTile(device, h, w);
  const ms: number[] = [];
  for (let i = 0; i < 2; i++) {
    const t0 = performance.now();
    await deblur(model, rgb, h, w, { tile });
    ms.push(performance.now() - t0);
  }
  console.log(JSON.stringify({ adapter: `${device.description.implementation} (${device.description.backend})`, tile, ms }));
}

function inNode(adapter: string, h: number, w: number, family?: string): Row {
  const env = { ...process.env, WGRAD_ADAPTER: adapter, MESA_SHADER_CACHE_DISABLE: 'true' };
  const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', `${h}x${w}`, ...(family ? ['--family', family] : [])];
  const out = execFileSync('node', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const r = JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).pop()!);
  return { where: 'Node (Dawn)', adapter: r.adapter, size: `${w}×${h}`, tile: r.tile, coldMs: r.ms[0], warmMs: r.ms[1] };
}

async function inPage(h: number, w: number, family: string | undefined, work: string): Promise<Row> {
  const png = join(work, `${w}x${h}.png`);
  writeFileSync(png, encodePng({ width: w, height: h, rgb: picture(h, w), alpha: null, bitDepth: 8, channels: 'rgb' }));
  const server = await servePage();
  const url = server.url;
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(family ? `${url}#kernels=${family}` : url);
    await page.evaluate(() => window.lmfn.ready);
    for (let i = 1; i <= 2; i++) {
      await page.setInputFiles('#image-file', []);
      await page.setInputFiles('#image-file', png);
      await page.waitForFunction((n) => window.lmfn.runs.length >= n || window.lmfn.error !== null, i, { timeout: 3_600_000 });
      const error = await page.evaluate(() => window.lmfn.error);
      if (error) throw new Error(`the page failed on ${w}×${h}: ${error}`);
    }
    const { runs, adapter } = await page.evaluate(() => ({ runs: window.lmfn.runs, adapter: window.lmfn.adapter! }));
    return { where: 'Chromium page', adapter: `${adapter.implementation} (${adapter.backend})`, size: `${w}×${h}`, tile: runs[0].tile, coldMs: runs[0].ms, warmMs: runs[1].ms };
  } finally {
    await browser.close();
    server.stop();
  }
}

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const sizes = (option('sizes') ?? '256,720x1280').split(',').map((s) => {
  const [h, w] = s.includes('x') ? s.split('x').map(Number) : [Number(s), Number(s)];
  return [h, w] as const;
});
const family = option('family');

if (option('child')) {
  const [h, w] = option('child')!.split('x').map(Number);
  await nodeChild(h, w, family as KernelFamily | undefined);
} else {
  const work = mkdtempSync(join(tmpdir(), 'lmfn-bench-browser-'));
  const rows: Row[] = [];
  try {
    for (const [h, w] of sizes) {
      rows.push(await inPage(h, w, family, work));
      console.error(JSON.stringify(rows[rows.length - 1]));
      for (const adapter of (option('node') ?? 'gl').split(',')) {
        rows.push(inNode(adapter, h, w, family));
        console.error(JSON.stringify(rows[rows.length - 1]));
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (process.argv.includes('--json')) console.log(JSON.stringify({ date: new Date().toISOString(), family: family ?? 'default', rows }, null, 2));
  else {
    console.log('| where | adapter | size | tile | cold s | warm s |\n|---|---|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.where} | ${r.adapter} | ${r.size} | ${r.tile || 'whole'} | ${(r.coldMs / 1000).toFixed(1)} | ${(r.warmMs / 1000).toFixed(1)} |`);
  }
}
