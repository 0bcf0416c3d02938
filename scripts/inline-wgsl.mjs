// An esbuild plugin for every bundle of the engine (scripts/build.mjs, web/serve.mjs):
// engine/wgsl-sources.ts becomes a table of every kernels/*.wgsl as text, so the
// bundle reads no shader at run time and kernels/*.wgsl stay the one source.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const kernels = join(dirname(fileURLToPath(import.meta.url)), '..', 'kernels');

export const inlineWgsl = {
  name: 'inline-wgsl',
  setup(build) {
    build.onLoad({ filter: /[\\/]engine[\\/]wgsl-sources\.ts$/ }, () => {
      const files = readdirSync(kernels).filter((f) => f.endsWith('.wgsl')).sort();
      const table = Object.fromEntries(files.map((f) => [f, readFileSync(join(kernels, f), 'utf8')]));
      return { contents: `export const INLINED_WGSL = ${JSON.stringify(table)};`, loader: 'ts', watchFiles: files.map((f) => join(kernels, f)) };
    });
  },
};
