// One training step: MSE(model(blur), sharp), backward and an Adam update, at the learning rate
// the schedule gives. Also used by bench/interop/parity.ts, so its run trains exactly as `lmfn train`.

import { Tensor, ops, tidy, type Adam } from '../../engine/node/index.ts';
import type { LMFN } from '../../model/lmfn.ts';
import type { Batch } from '../data/loader.ts';

/** The learning rate of the step after `step` completed ones: the step schedule, scaled by a linear warm-up over the first `warmup` steps. */
export function learningRate(base: number, gamma: number, every: number, step: number, warmup = 0): number {
  return base * gamma ** Math.floor(step / every) * (warmup > 0 ? Math.min(1, (step + 1) / warmup) : 1);
}

/** One optimizer step on MSE(model(blur), sharp), recorded into the device's batch; returns the loss (not read). */
export function trainStep(model: LMFN, optimizer: Adam, batch: Pick<Batch, 'blur' | 'sharp' | 'shape'>): Tensor {
  return tidy(() => {
    const blur = Tensor.fromData(model.device, batch.blur, batch.shape);
    const sharp = Tensor.fromData(model.device, batch.sharp, batch.shape);
    optimizer.zeroGrad();
    const l = ops.mseLoss(model.forward(blur), sharp);
    l.backward();
    optimizer.step();
    return l;
  });
}
