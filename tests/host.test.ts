// The host interface (engine/host.ts): the core asks the installed host for
// adapters, overrides and WGSL text, and says clearly what is missing. Uses a
// fake host and puts Node's back; no GPU.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Device, EngineError, nodeHost, setHost, wgsl, type Host } from '../engine/node/index.ts';

function fakeHost(overrides: Partial<Host> = {}): Host & { asked: string[] } {
  const asked: string[] = [];
  return {
    name: 'fake',
    noAdapterHelp: 'Plug in the fake GPU.',
    adapterSources: () => [],
    env: () => undefined,
    readKernelSource: (file) => {
      asked.push(file);
      return `// ${file}`;
    },
    nextTurn: () => Promise.resolve(),
    ...overrides,
    asked,
  };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

test.after.each(() => setHost(nodeHost));

test('no adapter from the host: an EngineError with the host\'s own advice', async () => {
  setHost(fakeHost());
  const err = await rejection(Device.create());
  assert.instance(err, EngineError);
  assert.is(err.message, 'no WebGPU adapter found. Plug in the fake GPU.');
});

test('WGRAD_ADAPTER comes from the host, and a bad one is named', async () => {
  setHost(fakeHost({ env: (name) => (name === 'WGRAD_ADAPTER' ? 'quantum' : undefined) }));
  const err = await rejection(Device.create());
  assert.match(err.message, /^WGRAD_ADAPTER must be one of auto, gpu, cpu, .*; got 'quantum'$/);
});

test('a named adapter that cannot be had says why: the sources\' own reasons', async () => {
  setHost(fakeHost({
    env: (name) => (name === 'WGRAD_ADAPTER' ? 'lavapipe' : undefined),
    adapterSources: () => [
      { backend: 'vulkan', unavailable: 'the Vulkan loader is missing', request: async () => null },
      { backend: 'opengles', unavailable: 'GL is not asked for lavapipe', request: async () => null },
    ],
  }));
  const err = await rejection(Device.create());
  assert.is(err.message, "no 'lavapipe' adapter (WGRAD_ADAPTER=lavapipe); no WebGPU adapter at all; the Vulkan loader is missing");
});

test('wgsl() reads nothing until asked, then prelude, fragments and file in that order, once', () => {
  const host = fakeHost();
  setHost(host);
  // A combination no launcher uses, so no earlier test has assembled it.
  const source = wgsl('pad.wgsl', 'cat.wgsl', 'softmax.wgsl');
  assert.equal(host.asked, []);
  assert.is(source(), '// prelude.wgsl\n// cat.wgsl\n// softmax.wgsl\n// pad.wgsl');
  assert.equal(host.asked, ['prelude.wgsl', 'cat.wgsl', 'softmax.wgsl', 'pad.wgsl']);
  source();
  assert.is(host.asked.length, 4);
});

test('Node\'s host reads the real kernels/ files', () => {
  assert.match(nodeHost.readKernelSource('prelude.wgsl'), /override WG_X/);
  assert.throws(() => nodeHost.readKernelSource('no-such-kernel.wgsl'), /no-such-kernel\.wgsl/);
});

test.run();
