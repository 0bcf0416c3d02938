// The pure parts of `lmfn bench kernels --tfjs` (bench/tfjs.ts, the peer table
// in bench/results.ts): the missing-package message, the live columns, and
// that nothing loads tfjs unless asked. The bench itself is not a test.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import type { AdapterDescription } from '../engine/node/index.ts';
import type { KernelResult } from '../bench/kernels.ts';
import { renderKernels, type StoredResults } from '../bench/results.ts';
import { TFJS_PACKAGES, tfjsMissing } from '../bench/tfjs.ts';
import { main } from '../train/cli/main.ts';

const adapter: AdapterDescription = {
  kind: 'cpu', implementation: 'llvmpipe', backend: 'opengles', featureLevel: 'compatibility', features: [],
  description: 'OpenGL ES 3.2 Mesa', vendor: 'mesa', device: 'llvmpipe-test',
  maxStorageBufferBindingSize: 2 ** 27, maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupStorageSize: 32768, timestampQuery: false,
};

function row(id: string, pass: string, peer: string, ms: number, tfjsMs?: number): KernelResult {
  return {
    id, family: 'conv2d', workload: `peer ${id}`, pass, ms, minMs: ms, samples: 5, repsPerSample: 1, method: 'wall-clock',
    gflops: 10, gbps: 1, pctFlops: 10, pctBandwidth: 10, peer,
    ...(tfjsMs === undefined ? {} : { tfjs: { ms: tfjsMs, minMs: tfjsMs, samples: 5, repsPerSample: 1 } }),
  };
}

function stored(rows: KernelResult[], tfjs?: string): StoredResults<KernelResult> {
  const run = { date: '2026-11-25T12:00:00Z', command: 'lmfn bench kernels --op peers', timing: 'wall clock', loadAverage: [1, 1, 1], ...(tfjs ? { tfjs } : {}) };
  return { kind: 'kernels', slug: 'llvmpipe-test', adapter, runs: [run], rows: rows.map((r) => ({ ...r, run: 0 })) };
}

const peerLines = (md: string) => md.split('\n').filter((l) => l.startsWith('| W'));

test('the peer table gets live tfjs columns and ratios, and dX/dW rows, only with live numbers', () => {
  const live = renderKernels(stored([
    row('W1.fwd', 'fwd', 'W1_fwd', 40, 160),
    row('W1.dX', 'dX', 'W1_dX', 50, 1000),
    row('W1.dW', 'dW', 'W1_dW', 50),
    row('W3.fwd', 'fwd', 'W3_matmul', 100, 250),
  ], 'live tfjs-webgpu 4.22.0 on the same adapter'));
  assert.match(live, '| workload | ours ms (GFLOP/s) | tfjs-webgpu live (this run) | live ms / ours | P1 tfjs-webgpu');
  assert.match(live, '; live tfjs-webgpu 4.22.0 on the same adapter;');
  const lines = peerLines(live);
  assert.equal(lines.map((l) => l.split(' | ')[0]), ['| W1 conv 3×3 64→64, 1×64×128×128, fwd', '| W1 dX', '| W3 matmul 1024³']);
  assert.ok(lines[0].startsWith('| W1 conv 3×3 64→64, 1×64×128×128, fwd | 40.0 (10.0) | 160 | 4.00× | 176 | 4.40× |'), lines[0]);
  assert.ok(lines[1].startsWith('| W1 dX | 50.0 (10.0) | 1000 | 20.0× | – | – |'), lines[1]);

  const plain = renderKernels(stored([row('W1.fwd', 'fwd', 'W1_fwd', 40), row('W1.dX', 'dX', 'W1_dX', 50)]));
  assert.not.match(plain, 'live');
  assert.equal(peerLines(plain).length, 1);
  assert.ok(peerLines(plain)[0].startsWith('| W1 conv 3×3 64→64, 1×64×128×128, fwd | 40.0 (10.0) | 176 | 4.40× |'));
});

test('a missing tfjs package is named in one line with the install command', () => {
  assert.is(tfjsMissing(), null, 'the dev dependencies are installed');
  const message = tfjsMissing(['@tensorflow/tfjs-core', '@tensorflow/no-such-package']);
  assert.is(message, '--tfjs: @tensorflow/no-such-package is not installed (npm install --include=dev)');
});

test('tfjs is not loaded unless --tfjs asks; --tfjs without peer rows is a usage error', async () => {
  const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((k) => TFJS_PACKAGES.some((p) => k.includes(p)));
  assert.equal(loaded(), []);
  assert.is((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu, undefined);
  const error = console.error;
  let err = '';
  console.error = (...a: unknown[]) => void (err += a.join(' ') + '\n');
  try {
    assert.is(await main(['bench', 'kernels', '--op', 'softmax', '--tfjs', '--no-write']), 2);
  } finally {
    console.error = error;
  }
  assert.match(err, '--tfjs runs the peer workloads W1–W4');
  assert.equal(loaded(), []);
});

test.run();
