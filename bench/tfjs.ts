// `lmfn bench kernels --tfjs`: the peer workloads W1–W4 through TensorFlow.js's
// WebGPU backend on the same kind of adapter as the engine, in the same run, so
// the "tfjs ms / ours" ratios compare like with like (the static peer numbers
// in peers.ts come from another day and another load).
//
// tfjs is an optional dev dependency and is imported only here, only when
// asked. Its webgpu backend registers itself at import time only if
// navigator.gpu exists, and asks navigator.gpu.requestAdapter for a core
// adapter, which Dawn's OpenGL ES backend (the engine's CPU fallback) does not
// offer. So for the duration of the bench a stand-in navigator.gpu hands it a
// fresh adapter of the engine's kind (the engine's own adapter is consumed by
// its device), in compatibility mode on the CPU fallback, with the device
// limits raised to the adapter's as the engine raises its own.

import { createRequire } from 'node:module';
import type * as Tf from '@tensorflow/tfjs-core';
import { raisedLimits, type Device } from '../engine/node/index.ts';
import type { KernelResult, TfjsTiming } from './kernels.ts';
import { fmt } from './results.ts';
import { median } from './timer.ts';

export const TFJS_PACKAGES = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu'];

/** The one-line complaint about the first of `packages` that is not installed, or null when all are. */
export function tfjsMissing(packages = TFJS_PACKAGES): string | null {
  const require = createRequire(import.meta.url);
  for (const name of packages) {
    try {
      require.resolve(name);
    } catch {
      return `--tfjs: ${name} is not installed (npm install --include=dev)`;
    }
  }
  return null;
}

/** The parts of tfjs-webgpu's backend a sample needs to flush its work and wait for it. */
interface WebGpuBackend {
  device: GPUDevice;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

export interface TfjsOptions {
  samples: number;
  budgetMs: number;
  log: (line: string) => void;
}

export interface TfjsSession {
  /** Times the peer workloads of `rows` and sets their `tfjs`; returns how, for the run line. */
  time(rows: KernelResult[], options: TfjsOptions): Promise<string>;
  dispose(): void;
}

/** Sets globalThis.navigator to one whose gpu gives out adapters like the engine's; returns the undo. */
async function installNavigator(device: Device): Promise<() => void> {
  const requestAdapter = async (): Promise<GPUAdapter | null> => {
    const adapter = await device.requestAnotherAdapter();
    if (!adapter) return null;
    if (adapter.info.device !== device.adapter.info.device) {
      throw new Error(`tfjs got adapter '${adapter.info.device}', the engine runs on '${device.adapter.info.device}'`);
    }
    const raised = raisedLimits(adapter);
    const requestDevice = adapter.requestDevice.bind(adapter);
    return Object.assign(adapter, {
      requestDevice: (d: GPUDeviceDescriptor = {}) => requestDevice({ ...d, requiredLimits: { ...raised, ...d.requiredLimits } }),
    });
  };
  const previous = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  Object.defineProperty(globalThis, 'navigator', {
    value: { gpu: { requestAdapter, wgslLanguageFeatures: new Set<string>(), getPreferredCanvasFormat: () => 'rgba8unorm' }, userAgent: 'node' },
    configurable: true,
    writable: true,
  });
  return () => {
    if (previous) Object.defineProperty(globalThis, 'navigator', previous);
    else delete (globalThis as { navigator?: unknown }).navigator;
  };
}

function data(n: number, scale: number, seed: number): Float32Array {
  // Values only need to be finite, varied and reproducible.
  const out = new Float32Array(n);
  let s = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

/**
 * W1–W4 as the peers ran them (../shared/peers/bench_tfjs.mjs): NHWC, tfjs's
 * native layout, explicit padding 1. dX and dW run the two kernels conv2d's
 * gradient calls; fwd+bwd is the forward and both, as our row runs them. Not
 * tf.grads: tfjs-core alone registers no gradients, and the peers' tf.grads
 * row also ran the forward twice.
 */
function workloads(tf: typeof Tf): { run: Record<string, () => void>; dispose: () => void } {
  const pad: Parameters<typeof tf.conv2d>[3] = [[0, 0], [1, 1], [1, 1], [0, 0]];
  const x = tf.tensor4d(data(128 * 128 * 64, 1, 1), [1, 128, 128, 64]);
  const w = tf.tensor4d(data(3 * 3 * 64 * 64, 1 / 24, 2), [3, 3, 64, 64]);
  const dys = [tf.tensor4d(data(128 * 128 * 64, 1, 3), [1, 128, 128, 64]), tf.tensor4d(data(64 * 64 * 64, 1, 4), [1, 64, 64, 64])];
  const a = tf.tensor2d(data(1024 * 1024, 0.1, 5), [1024, 1024]);
  const b = tf.tensor2d(data(1024 * 1024, 0.1, 6), [1024, 1024]);
  const v = tf.tensor2d(data(256 * 4096, 0.02, 7), [256, 4096]);
  const run: Record<string, () => void> = {};
  for (const [i, stride] of [1, 2].entries()) {
    const key = `W${i + 1}`;
    const dy = dys[i];
    const attrs = { strides: stride, pad, dataFormat: 'NHWC' };
    const fwd = () => void tf.conv2d(x, w, stride, pad);
    const dX = () => void tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: w }, { ...attrs, inputShape: x.shape });
    const dW = () => void tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...attrs, filterShape: w.shape });
    Object.assign(run, { [`${key}_fwd`]: fwd, [`${key}_dX`]: dX, [`${key}_dW`]: dW, [`${key}_fwdbwd`]: () => [fwd, dX, dW].forEach((f) => f()) });
  }
  run.W3_matmul = () => void tf.matMul(a, b);
  run.W4_attn = () => void tf.matMul(tf.softmax(tf.matMul(v, v, false, true)), v);
  return { run, dispose: () => tf.dispose([x, w, ...dys, a, b, v]) };
}

/** Starts tfjs-webgpu next to `device`; throws if it cannot. */
export async function startTfjs(device: Device): Promise<TfjsSession> {
  const restore = await installNavigator(device);
  let tf: typeof Tf | undefined;
  let backend: WebGpuBackend | undefined;
  const dispose = () => {
    if (tf?.findBackend('webgpu')) tf.removeBackend('webgpu');
    backend?.device.destroy();
    restore();
  };
  try {
    tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-webgpu');
    tf.enableProdMode();
    // tfjs logs why a backend failed and returns false.
    if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs could not start its webgpu backend on this adapter (see its message above)');
    backend = tf.backend() as unknown as WebGpuBackend;
  } catch (e) {
    dispose();
    throw e;
  }
  const be = backend;
  const tfjs = tf;
  const sync = async () => {
    be.ensureCommandEncoderReady();
    be.endComputePassEncoder();
    be.submitQueue();
    await be.device.queue.onSubmittedWorkDone();
  };
  return {
    async time(rows, o) {
      const keys = [...new Set(rows.flatMap((r) => (r.peer ? [r.peer] : [])))];
      const w = workloads(tfjs);
      try {
        for (const key of keys) {
          const work = w.run[key];
          if (!work) continue;
          try {
            const t = await timeWork(() => tfjs.tidy(work), sync, o);
            o.log(`tfjs ${key.padEnd(10)} ${fmt(t.ms).padStart(8)} ms (min ${fmt(t.minMs)})`);
            for (const r of rows) if (r.peer === key) r.tfjs = t;
          } catch (e) {
            o.log(`tfjs ${key}: failed: ${(e as Error).message}`);
          }
        }
      } finally {
        w.dispose();
      }
      return `live tfjs-webgpu ${tfjs.version_core} on the same adapter: NHWC, wall clock around its \`queue.onSubmittedWorkDone()\`, median of ${o.samples} samples`;
    },
    dispose,
  };
}

const TARGET_MS = 50;

/** As bench/timer.ts times wall clock: a warm-up, a run to size the samples, then samples of back-to-back repetitions. */
async function timeWork(work: () => void, sync: () => Promise<void>, o: TfjsOptions): Promise<TfjsTiming> {
  const sample = async (reps: number) => {
    await sync();
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) work();
    await sync();
    return performance.now() - t0;
  };
  await sample(1);
  const estimate = await sample(1);
  const reps = Math.max(1, Math.min(512, Math.round(TARGET_MS / Math.max(estimate, 1e-3))));
  const perRep: number[] = [];
  const start = performance.now();
  while (perRep.length < o.samples) {
    perRep.push((await sample(reps)) / reps);
    if (perRep.length >= Math.min(3, o.samples) && performance.now() - start > o.budgetMs) break;
  }
  return { ms: median(perRep), minMs: Math.min(...perRep), samples: perRep.length, repsPerSample: reps };
}
