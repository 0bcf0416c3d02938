#!/usr/bin/env node
// Serves the deblurring page on localhost only: web/index.html, the page's
// bundle (web/app.ts with the engine's browser build and LMFN, every
// kernels/*.wgsl inlined; built in memory at start, in well under a second),
// and the default weights.
//
//   npm run web                          # http://127.0.0.1:8080/
//   node web/serve.mjs --port 0 --weights my.safetensors
//
// --port 0 takes any free port; the first line printed on stdout is the URL.

import { build } from 'esbuild';
import { createServer } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inlineWgsl } from '../scripts/inline-wgsl.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
/** The project's own checkpoint, when one is shipped (see README, "The page"). */
const SHIPPED_WEIGHTS = join(root, 'data/weights/lmfn.safetensors');

function parseArgs(argv) {
  const opts = { port: 8080, weights: existsSync(SHIPPED_WEIGHTS) ? SHIPPED_WEIGHTS : null };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--port' && /^\d+$/.test(value ?? '')) opts.port = Number(value);
    else if (flag === '--weights' && value) opts.weights = resolve(value);
    else if (flag === '--help') {
      console.log('usage: node web/serve.mjs [--port N] [--weights FILE.safetensors]');
      process.exit(0);
    } else {
      console.error(`serve: unknown or incomplete option ${flag}${value === undefined ? '' : ` ${value}`} (see --help)`);
      process.exit(2);
    }
    i++;
  }
  if (opts.weights && !existsSync(opts.weights)) {
    console.error(`serve: --weights: no such file: ${opts.weights}`);
    process.exit(2);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const bundle = await build({
  entryPoints: [join(here, 'app.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: 'inline',
  write: false,
  plugins: [inlineWgsl],
  logLevel: 'warning',
});
const app = bundle.outputFiles[0].contents;

const routes = {
  '/': () => [200, 'text/html; charset=utf-8', readFileSync(join(here, 'index.html'))],
  '/app.js': () => [200, 'text/javascript; charset=utf-8', app],
  '/weights.safetensors': () =>
    opts.weights ? [200, 'application/octet-stream', readFileSync(opts.weights)] : [404, 'text/plain', 'no weights are shipped with this checkout'],
};

const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const route = routes[path];
  const [status, type, body] = route ? route() : [404, 'text/plain', `not found: ${path}`];
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
});
server.on('error', (e) => {
  const why = e.code === 'EADDRINUSE' ? `port ${opts.port} is in use; pass --port N (0 takes any free port)` : e.message;
  console.error(`serve: ${why}`);
  process.exit(1);
});
server.listen(opts.port, '127.0.0.1', () => {
  console.log(`http://127.0.0.1:${server.address().port}/`);
  console.error(opts.weights ? `weights: ${opts.weights}` : 'weights: none shipped; the page starts LMFN from the identity (load a .safetensors there)');
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
