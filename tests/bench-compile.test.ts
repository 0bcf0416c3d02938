// The pure parts of `lmfn bench compile`: per-kernel sums and the RESULTS.md
// section it replaces in place (one per implementation and family).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileByKernel, updateCompileSection } from '../bench/compile.ts';

test('compileByKernel sums pipelines per kernel, costliest first', () => {
  const rows = [
    { kernel: 'a', variant: '1', createMs: 1, firstUseMs: 2, coldMs: 3 },
    { kernel: 'b', variant: '1', createMs: 0, firstUseMs: 10, coldMs: 10 },
    { kernel: 'a', variant: '2', createMs: 0, firstUseMs: 4, coldMs: 4 },
  ];
  assert.equal(compileByKernel(rows), [
    { kernel: 'b', pipelines: 1, coldMs: 10, maxMs: 10 },
    { kernel: 'a', pipelines: 2, coldMs: 7, maxMs: 4 },
  ]);
});

test('updateCompileSection appends under its heading, then replaces only its own block', () => {
  const md = '# Results\n\n## Kernels\n\nrows\n\n## Model\n\nmore\n';
  const once = updateCompileSection(md, 'gl-direct', 'TABLE 1');
  assert.ok(once.startsWith(md.trimEnd()), 'what was there stays');
  assert.match(once, /## Cold compile per pipeline[\s\S]*<!-- compile:gl-direct -->\nTABLE 1\n<!-- \/compile:gl-direct -->/);
  const two = updateCompileSection(once, 'lavapipe-tiled', 'TABLE 2');
  const again = updateCompileSection(two, 'gl-direct', 'TABLE 3');
  assert.not.match(again, 'TABLE 1');
  assert.match(again, 'TABLE 2');
  assert.match(again, 'TABLE 3');
  assert.is(again.split('## Cold compile per pipeline').length, 2, 'one heading');
  assert.ok(again.indexOf('TABLE 3') < again.indexOf('TABLE 2'), 'replaced in place');
});

test.run();
