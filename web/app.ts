// The deblurring page: LMFN on the browser's own WebGPU, through the engine's
// browser entry point. It finds an adapter (or says why there is none), loads
// the served weights or the user's, deblurs a dropped or chosen picture tile
// by tile with a progress bar, shows before and after under a slider, offers
// the result as a PNG, and trains a small network live (web/train.ts).
//
// `window.lmfn` is for the browser tests (tests/web.test.ts): what the page
// found, the last output as floats, and timings.

import { EngineError, browserOverrides, init, kernelFamily, type Device } from '../engine/browser/index.ts';
import { loadWeightsFrom } from '../model/checkpoint.ts';
import { autoTile, deblur } from '../model/deblur.ts';
import { LMFN } from '../model/lmfn.ts';
import { canvasToPng, decodeImage, drawPlanar, testPattern, type Planar } from './image.ts';
import { tinyParameterCount, trainTiny } from './train.ts';

interface PageHook {
  /** Settles once the page has its adapter and weights (or has failed: see `error`). */
  ready: Promise<void>;
  error: string | null;
  adapter: Device['description'] | null;
  weights: string;
  /** Every deblur so far: milliseconds, tile size, image size. */
  runs: { ms: number; tile: number; h: number; w: number }[];
  lastOutput: Planar | null;
  busy: boolean;
  training: { step: number; loss?: number; valPsnr?: number; blurPsnr?: number }[];
}

declare global {
  interface Window {
    lmfn: PageHook;
  }
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const hook: PageHook = { ready: Promise.resolve(), error: null, adapter: null, weights: '', runs: [], lastOutput: null, busy: false, training: [] };
window.lmfn = hook;

let device: Device;
let model: LMFN;
let picture: Planar | null = null;

function fail(where: HTMLElement, e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  where.textContent = message;
  where.classList.add('error');
  hook.error = message;
}

/** Only one GPU job at a time: a deblur and a training run would interleave their readbacks. */
async function exclusive(job: () => Promise<void>, status: HTMLElement): Promise<void> {
  if (hook.busy) {
    status.textContent = 'busy: wait for the running deblur or training to finish (or stop it)';
    return;
  }
  hook.busy = true;
  try {
    await job();
  } finally {
    hook.busy = false;
  }
}

async function loadWeights(bytes: Uint8Array, name: string, described: string): Promise<void> {
  const status = $('weights-status');
  status.classList.remove('error');
  try {
    loadWeightsFrom(model, bytes, name);
    hook.weights = name;
    status.textContent = `weights: ${described} (${(bytes.length / 2 ** 20).toFixed(1)} MiB)`;
  } catch (e) {
    fail(status, e);
  }
}

async function loadServedWeights(): Promise<void> {
  const response = await fetch('weights.safetensors');
  if (response.ok) return loadWeights(new Uint8Array(await response.arrayBuffer()), 'weights.safetensors', "the project's checkpoint");
  hook.weights = 'identity';
  $('weights-status').textContent =
    'weights: none are shipped yet, so LMFN starts from the identity and returns its input; load a trained .safetensors below';
}

async function runDeblur(file: File): Promise<void> {
  const status = $('status');
  status.classList.remove('error');
  const progress = $<HTMLProgressElement>('progress');
  try {
    const image = await decodeImage(file);
    const tile = autoTile(device, image.h, image.w);
    status.textContent = `deblurring ${image.w}×${image.h}${tile ? ` in ${tile}px tiles` : ''}… (the first run compiles the kernels)`;
    progress.value = 0;
    progress.hidden = false;
    const t0 = performance.now();
    const rgb = await deblur(model, image.rgb, image.h, image.w, {
      tile,
      onTile: (done, total) => {
        progress.max = total;
        progress.value = done;
      },
    });
    const ms = performance.now() - t0;
    picture = image;
    hook.lastOutput = { rgb, h: image.h, w: image.w };
    hook.runs.push({ ms, tile, h: image.h, w: image.w });
    showResult(image, hook.lastOutput);
    status.textContent = `${image.w}×${image.h} in ${(ms / 1000).toFixed(2)} s`;
  } catch (e) {
    fail(status, e);
  }
}

function showResult(before: Planar, after: Planar): void {
  const beforeCanvas = $<HTMLCanvasElement>('before');
  const afterCanvas = $<HTMLCanvasElement>('after');
  drawPlanar(beforeCanvas, before);
  drawPlanar(afterCanvas, after);
  // Small pictures are shown enlarged, pixel for pixel, so the difference can be seen.
  const zoom = Math.max(1, Math.floor(512 / Math.max(after.w, after.h)));
  for (const c of [beforeCanvas, afterCanvas]) {
    c.style.width = `${after.w * zoom}px`;
    c.style.imageRendering = zoom > 1 ? 'pixelated' : 'auto';
  }
  $('compare').hidden = false;
  const split = $<HTMLInputElement>('split');
  split.hidden = false;
  const apply = () => (afterCanvas.style.clipPath = `inset(0 0 0 ${split.value}%)`);
  split.oninput = apply;
  apply();
  void canvasToPng(afterCanvas).then((png) => {
    const link = $<HTMLAnchorElement>('download');
    if (link.href) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(png);
    link.hidden = false;
  });
}

async function runTraining(): Promise<void> {
  const status = $('train-status');
  status.classList.remove('error');
  let stop = false;
  const [start, stopButton] = [$<HTMLButtonElement>('train-start'), $<HTMLButtonElement>('train-stop')];
  start.disabled = true;
  stopButton.disabled = false;
  stopButton.onclick = () => (stop = true);
  try {
    const source = picture ?? testPattern(256, 256);
    status.textContent = `training on ${picture ? 'your picture' : 'the test pattern'}… (the first step compiles the kernels)`;
    hook.training = await trainTiny(device, source, 300, {
      shouldStop: () => stop,
      onProgress: (step, points, svg) => {
        $('loss-plot').innerHTML = svg;
        hook.training = points;
        const last = points[points.length - 1];
        const psnr = [...points].reverse().find((p) => p.valPsnr !== undefined);
        status.textContent =
          `step ${step}/300` + (last.loss !== undefined ? ` · loss ${last.loss.toExponential(2)}` : '') +
          (psnr ? ` · PSNR ${psnr.valPsnr!.toFixed(2)} dB (blurred ${psnr.blurPsnr!.toFixed(2)} dB)` : '');
      },
    });
  } catch (e) {
    fail(status, e);
  } finally {
    start.disabled = false;
    stopButton.disabled = true;
  }
}

function wireInputs(): void {
  const chosen = (files: FileList | null) => files?.[0] && void exclusive(() => runDeblur(files[0]), $('status'));
  $<HTMLInputElement>('image-file').onchange = (e) => chosen((e.target as HTMLInputElement).files);
  const drop = $('drop');
  drop.ondragover = (e) => {
    e.preventDefault();
    drop.classList.add('over');
  };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    chosen(e.dataTransfer?.files ?? null);
  };
  $<HTMLInputElement>('weights-file').onchange = async (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (file) await loadWeights(new Uint8Array(await file.arrayBuffer()), file.name, file.name);
  };
  $('train-start').onclick = () => void exclusive(runTraining, $('train-status'));
  $('train-params').textContent = tinyParameterCount().toLocaleString('en');
}

async function start(): Promise<void> {
  // #kernels=direct|tiled in the address plays WGRAD_KERNELS (engine/browser/host.ts).
  const kernels = new URLSearchParams(location.hash.slice(1)).get('kernels');
  if (kernels) browserOverrides.WGRAD_KERNELS = kernels;
  try {
    device = await init();
  } catch (e) {
    fail($('adapter'), e instanceof EngineError ? e : new Error(`WebGPU failed to start: ${(e as Error).message}`));
    for (const el of document.querySelectorAll<HTMLInputElement | HTMLButtonElement>('input, button')) el.disabled = true;
    return;
  }
  hook.adapter = device.description;
  $('adapter').textContent = `${device.summary()}; ${kernelFamily(device)} kernels`;
  model = new LMFN(device, { init: 'identity' });
  await loadServedWeights();
  wireInputs();
}

hook.ready = start();
