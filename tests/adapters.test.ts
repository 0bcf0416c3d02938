// Adapter identification (engine/adapters.ts) on the adapter infos that real
// drivers report through Dawn, recorded on this project's machines, and the
// choice rules (WGRAD_ADAPTER) built on it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { adapterRank, identifyAdapter, matchesChoice, type AdapterInfoLike, type Backend } from '../engine/adapters.ts';

const seen: [string, AdapterInfoLike, Backend, { kind: 'cpu' | 'gpu'; implementation: string }][] = [
  [
    'Dawn GL on Mesa 22 llvmpipe (not flagged as a fallback)',
    { vendor: '', architecture: '', device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'OpenGL version OpenGL ES 3.2 Mesa 22.3.6', isFallbackAdapter: false },
    'opengles',
    { kind: 'cpu', implementation: 'llvmpipe' },
  ],
  [
    'Dawn Vulkan on Mesa 25 lavapipe (a core adapter, and still a CPU)',
    { vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1', isFallbackAdapter: true },
    'vulkan',
    { kind: 'cpu', implementation: 'lavapipe' },
  ],
  [
    "Dawn Vulkan on Chromium's SwiftShader",
    { vendor: 'google', architecture: 'swiftshader', device: 'swiftshader-device-subzero-', description: 'SwiftShader driver 5.0.0', isFallbackAdapter: true },
    'vulkan',
    { kind: 'cpu', implementation: 'swiftshader' },
  ],
  [
    'D3D12 WARP',
    { vendor: 'microsoft', architecture: '', device: 'Microsoft Basic Render Driver', description: 'Microsoft Basic Render Driver', isFallbackAdapter: true },
    'd3d12',
    { kind: 'cpu', implementation: 'warp' },
  ],
  [
    'an unnamed software adapter Dawn flags as a fallback',
    { vendor: 'acme', architecture: '', device: 'soft', description: 'Acme Soft', isFallbackAdapter: true },
    'vulkan',
    { kind: 'cpu', implementation: 'acme' },
  ],
  [
    'an NVIDIA GPU on Vulkan',
    { vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H100 80GB HBM3', description: 'NVIDIA: 550.54.15', isFallbackAdapter: false },
    'vulkan',
    { kind: 'gpu', implementation: 'nvidia' },
  ],
  [
    "an Intel GPU through Dawn's GL backend",
    { vendor: 'intel', architecture: 'gen-12lp', device: 'Mesa Intel(R) Xe Graphics (TGL GT2)', description: 'OpenGL version OpenGL ES 3.2 Mesa 24.0.5', isFallbackAdapter: false },
    'opengles',
    { kind: 'gpu', implementation: 'intel' },
  ],
];

for (const [name, info, backend, expected] of seen) {
  test(`identifies ${name}`, () => {
    const id = identifyAdapter(info, backend);
    assert.equal({ kind: id.kind, implementation: id.implementation }, expected);
    assert.is(id.backend, backend);
  });
}

const id = (name: string) => {
  const row = seen.find(([n]) => n.startsWith(name))!;
  return identifyAdapter(row[1], row[2]);
};

test('auto ranks hardware first (likely-discrete vendors ahead), then CPU implementations by measured speed', () => {
  const order = ['an Intel', 'Dawn Vulkan on Mesa 25', 'an NVIDIA', "Dawn Vulkan on Chromium's", 'Dawn GL on Mesa 22']
    .map(id)
    .sort((a, b) => adapterRank(a) - adapterRank(b))
    .map((a) => a.implementation);
  assert.equal(order.slice(0, 2), ['nvidia', 'intel']);
  assert.ok(order.indexOf('llvmpipe') < order.indexOf('swiftshader'), order.join(' < '));
});

test('choices: gpu/cpu by kind, gl/vulkan by backend, names by implementation', () => {
  const nvidia = id('an NVIDIA');
  const gl = id('Dawn GL on Mesa 22');
  const lvp = id('Dawn Vulkan on Mesa 25');
  assert.ok(matchesChoice(nvidia, 'gpu') && !matchesChoice(nvidia, 'cpu'));
  assert.ok(matchesChoice(lvp, 'cpu') && !matchesChoice(lvp, 'gpu'), 'lavapipe is no GPU');
  assert.ok(matchesChoice(gl, 'gl') && !matchesChoice(lvp, 'gl') && matchesChoice(lvp, 'vulkan'));
  assert.ok(matchesChoice(lvp, 'lavapipe') && !matchesChoice(gl, 'lavapipe') && matchesChoice(gl, 'llvmpipe'));
  for (const a of [nvidia, gl, lvp]) assert.ok(matchesChoice(a, 'auto'));
});

test.run();
