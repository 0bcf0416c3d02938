// Validation of a training run: the model's output on every validation pair, scored beside the
// blurred input (the bar it has to clear). Also used by bench/interop/parity.ts.

import { Tensor, noGrad, tidy } from '../../engine/node/index.ts';
import type { LMFN } from '../../model/lmfn.ts';
import type { BatchLoader } from '../data/loader.ts';
import { psnr, ssim } from '../metrics.ts';

export interface ValResult {
  psnr: number;
  ssim: number;
  blurPsnr: number;
  blurSsim: number;
  pictures: { name: string; blur: Float32Array; out: Float32Array; sharp: Float32Array; h: number; w: number }[];
}

/** Mean PSNR/SSIM over the validation split, of the model's output and of the blurred input. */
export async function validate(model: LMFN, loader: BatchLoader): Promise<ValResult> {
  const rows: ValResult['pictures'] = [];
  for await (const v of loader.valBatches()) {
    const [, , h, w] = v.shape;
    const y = noGrad(() => tidy(() => model.forward(Tensor.fromData(model.device, v.blur, v.shape))));
    rows.push({ name: v.name, blur: v.blur, out: await y.read(), sharp: v.sharp, h, w });
    y.dispose();
  }
  const mean = (f: (r: ValResult['pictures'][number]) => number) => rows.reduce((s, r) => s + f(r), 0) / rows.length;
  return {
    psnr: mean((r) => psnr(r.out, r.sharp)),
    ssim: mean((r) => ssim(r.out, r.sharp, r.h, r.w)),
    blurPsnr: mean((r) => psnr(r.blur, r.sharp)),
    blurSsim: mean((r) => ssim(r.blur, r.sharp, r.h, r.w)),
    pictures: rows,
  };
}
