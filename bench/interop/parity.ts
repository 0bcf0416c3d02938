// Long-horizon parity, our half: trains LMFN on the engine with `lmfn train`'s step and
// validation (Adam β 0.9/0.999, ε 1e-8, L2 weight decay, MSE, the same loader) and dumps
// what bench/interop/parity.py needs to train the independent PyTorch LMFN on the
// same weights and the same batches: the initial weights, every batch, the
// validation pairs, and our loss per step and validation PSNR per evaluation.
//
//   npx tsx bench/interop/parity.ts --out DIR [--steps 1000 --batch 4 --crop 64 --lr 1e-4 --init identity --val-every 100 --seed 0]
//   python3 bench/interop/parity.py DIR
//
// bench/interop/parity.sh runs both.

import { mkdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { Adam, getDevice, writeSafetensors } from '../../engine/node/index.ts';
import { LMFN } from '../../model/lmfn.ts';
import type { LMFNInit } from '../../model/identity.ts';
import { openDataset } from '../../train/data/dataset.ts';
import { BatchLoader } from '../../train/data/loader.ts';
import { trainStep } from '../../train/loop/step.ts';
import { validate as validateRun } from '../../train/loop/validate.ts';

function flag(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1];
  if (fallback === undefined) throw new Error(`parity.ts: --${name} is required`);
  return fallback;
}

const out = flag('out');
const steps = Number(flag('steps', '1000'));
const batch = Number(flag('batch', '4'));
const crop = Number(flag('crop', '64'));
const lr = Number(flag('lr', '1e-4'));
const valEvery = Number(flag('val-every', '100'));
const seed = Number(flag('seed', '0'));
const init = flag('init', 'identity') as LMFNInit;
const weightDecay = 1e-4;

mkdirSync(join(out, 'batches'), { recursive: true });
mkdirSync(join(out, 'val'), { recursive: true });
const config = { steps, batch, crop, lr, valEvery, seed, init, weightDecay, betas: [0.9, 0.999], eps: 1e-8 };
writeFileSync(join(out, 'config.json'), JSON.stringify(config, null, 1));
const log = join(out, 'engine.jsonl');
writeFileSync(log, '');

const device = await getDevice();
console.error(`# ${device.summary()}`);
const model = new LMFN(device, { seed, init });
writeSafetensors(join(out, 'init.safetensors'), await model.stateDict(), { format: 'pt', init, seed: String(seed) });
const optimizer = new Adam(model.parameters(), { lr, betas: [0.9, 0.999], eps: 1e-8, weightDecay });
const loader = new BatchLoader(openDataset('default'), { batch, crop, flips: false, seed, startBatch: 0 });

let pairs = 0;
for await (const v of loader.valBatches()) {
  writeSafetensors(join(out, 'val', `${pairs++}.safetensors`), new Map([
    ['blur', { shape: v.shape, data: v.blur }],
    ['sharp', { shape: v.shape, data: v.sharp }],
  ]));
}

async function validate(step: number): Promise<void> {
  const v = await validateRun(model, loader);
  appendFileSync(log, JSON.stringify({ step, val_psnr: v.psnr, blur_psnr: v.blurPsnr }) + '\n');
}

const started = Date.now();
await validate(0);
for (let step = 1; step <= steps; step++) {
  const b = await loader.next();
  writeSafetensors(join(out, 'batches', `${String(step).padStart(5, '0')}.safetensors`), new Map([
    ['blur', { shape: b.shape, data: b.blur }],
    ['sharp', { shape: b.shape, data: b.sharp }],
  ]));
  const loss = trainStep(model, optimizer, b);
  appendFileSync(log, JSON.stringify({ step, loss: await loss.item() }) + '\n');
  loss.dispose();
  if (step % valEvery === 0 || step === steps) await validate(step);
  if (step % 50 === 0) console.error(`step ${step}/${steps}  ${((Date.now() - started) / step).toFixed(0)} ms/step`);
}
await loader.close();
model.dispose();
device.destroy();
