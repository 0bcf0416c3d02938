// Training checkpoints in RUN_DIR:
//   last.safetensors        weights only, PyTorch state_dict names (load with safetensors.torch.load_file)
//   best.safetensors        weights of the best validation PSNR so far
//   last.state.safetensors  everything needed to resume exactly: weights, Adam's m and v under
//                           `adam.m.<name>` / `adam.v.<name>`, and the run state in the metadata
// Each file is written atomically; the state file is self-contained, so a crash
// between two writes can never pair weights of one step with moments of another.

import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { readSafetensors, writeSafetensors, type Adam } from '../../engine/node/index.ts';
import type { LMFN } from '../../model/lmfn.ts';
import { expectedShapes } from '../../model/checkpoint.ts';

/** A run that cannot be resumed: no checkpoint, or one whose metadata is missing or malformed. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** What a run needs besides tensors to continue exactly. */
export interface RunState {
  /** Optimizer steps completed. */
  step: number;
  /** The loader's position (batches consumed). */
  batches: number;
  /** Best validation PSNR so far (−Infinity before the first validation). */
  bestPsnr: number;
  /** The run's fixed settings (data, batch, crop, seed, schedule), as given to the first run. */
  config: Record<string, string | number | boolean>;
}

export const paths = (runDir: string) => ({
  last: join(runDir, 'last.safetensors'),
  best: join(runDir, 'best.safetensors'),
  state: join(runDir, 'last.state.safetensors'),
  metrics: join(runDir, 'metrics.jsonl'),
});

export async function saveCheckpoint(runDir: string, model: LMFN, optimizer: Adam, run: RunState, isBest: boolean): Promise<void> {
  const weights = await model.stateDict();
  const adam = await optimizer.state();
  const names = [...weights.keys()];
  const tensors = new Map(weights);
  names.forEach((name, i) => {
    tensors.set(`adam.m.${name}`, { shape: weights.get(name)!.shape, data: adam.m[i] });
    tensors.set(`adam.v.${name}`, { shape: weights.get(name)!.shape, data: adam.v[i] });
  });
  const p = paths(runDir);
  // Runs from before --init existed started from the paper's init.
  const meta = { step: String(run.step), format: 'pt', init: String(run.config.init ?? 'paper') };
  writeSafetensors(p.state, tensors, {
    ...meta,
    adam_step: String(adam.step),
    batches: String(run.batches),
    best_psnr: String(run.bestPsnr),
    config: JSON.stringify(run.config),
  });
  writeSafetensors(p.last, weights, meta);
  if (isBest) writeSafetensors(p.best, weights, { ...meta, val_psnr: String(run.bestPsnr) });
}

/** Restores weights and optimizer state from RUN_DIR/last.state.safetensors; returns the run state. */
export function loadCheckpoint(runDir: string, model: LMFN, optimizer: Adam): RunState {
  const p = paths(runDir);
  if (!existsSync(p.state)) throw new CheckpointError(`--resume: no checkpoint to resume in ${runDir} (expected ${p.state})`);
  const shapes = expectedShapes(model);
  const expect = new Map(shapes);
  for (const [name, shape] of shapes) {
    expect.set(`adam.m.${name}`, shape);
    expect.set(`adam.v.${name}`, shape);
  }
  const file = readSafetensors(p.state, { expect });
  const names = [...shapes.keys()];
  model.loadStateDict(new Map(names.map((n) => [n, file.tensors.get(n)!])));
  const meta = file.metadata;
  const number = (key: string) => {
    const v = Number(meta[key]);
    if (meta[key] === undefined || Number.isNaN(v)) throw new CheckpointError(`${p.state}: metadata '${key}' is missing or not a number`);
    return v;
  };
  optimizer.loadState({
    step: number('adam_step'),
    m: names.map((n) => file.tensors.get(`adam.m.${n}`)!.data),
    v: names.map((n) => file.tensors.get(`adam.v.${n}`)!.data),
  });
  let config: RunState['config'];
  try {
    config = JSON.parse(meta.config ?? '');
  } catch {
    throw new CheckpointError(`${p.state}: metadata 'config' is not valid JSON`);
  }
  return { step: number('step'), batches: number('batches'), bestPsnr: number('best_psnr'), config };
}
