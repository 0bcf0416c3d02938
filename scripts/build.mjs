#!/usr/bin/env node
// Builds the package's compiled output into dist/ (run by `npm pack` through
// `prepack`; the CLI and the tests run the TypeScript sources through tsx and
// need none of this):
//
//   dist/index.js     the Node entry (engine/node/index.ts), ESM for Node ≥ 20; `webgpu` stays an import
//   dist/browser.js   the browser entry (engine/browser/index.ts), ESM for bundlers and <script type=module>
//   dist/types/       .d.ts declarations of both, from tsc
//
// esbuild bundles each entry into one file, because the sources import each
// other with `.ts` specifiers that plain Node cannot load and a page should not
// fetch 100 modules. Both bundles inline every kernels/*.wgsl as text
// (scripts/inline-wgsl.mjs), so nothing reads a shader at run time.

import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { inlineWgsl } from './inline-wgsl.mjs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

rmSync(dist, { recursive: true, force: true });
// Source maps point into engine/ and kernels/, which the package ships, so they need not carry the sources.
const common = { bundle: true, format: 'esm', sourcemap: true, sourcesContent: false, legalComments: 'none', plugins: [inlineWgsl], logLevel: 'warning' };
await build({ ...common, entryPoints: [join(root, 'engine/node/index.ts')], outfile: join(dist, 'index.js'), platform: 'node', target: 'node20', external: ['webgpu'] });
await build({ ...common, entryPoints: [join(root, 'engine/browser/index.ts')], outfile: join(dist, 'browser.js'), platform: 'browser', target: 'es2022' });

// Declarations: tsc from the sources, then `.ts` specifiers rewritten to `.js`
// so any consumer's TypeScript resolves them the standard way.
const tsc = join(root, 'node_modules/.bin/tsc');
execFileSync(tsc, ['-p', join(root, 'scripts/tsconfig.types.json')], { stdio: 'inherit' });
const types = join(dist, 'types');
const rewrite = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) rewrite(path);
    else if (e.name.endsWith('.d.ts')) writeFileSync(path, readFileSync(path, 'utf8').replace(/(from\s+|import\()(['"])(\.{1,2}\/[^'"]+)\.ts\2/g, '$1$2$3.js$2'));
  }
};
rewrite(types);
console.error(`built ${dist}: index.js, browser.js, types/`);
