// `lmfn bench profile`: where the time of one LMFN training step goes, per
// kernel, on any adapter (llvmpipe has no timestamp queries). The step is
// recorded once with Device.capture set, which keeps every dispatch
// (pipeline, bind group, workgroup counts); each is then replayed alone,
// `reps` times in one pass and one submit, and timed by wall clock around
// the wait. A dispatch's time thus includes its share of the fixed
// per-dispatch cost, which is what fusing it into a neighbour would save.
// The replays run on the buffers the step left behind, so the values they
// compute are meaningless; only their timing is used.

import type { Device, RecordedDispatch } from '../engine/node/index.ts';
import { trainStepFixture } from './model.ts';

export interface ProfileRow {
  kernel: string;
  dispatches: number;
  /** Sum over this kernel's dispatches of the replayed time per dispatch. */
  ms: number;
}

export interface Profile {
  rows: ProfileRow[];
  dispatches: number;
  /** Wall clock of one whole step (recording, submit and wait), for comparison with the sum of the rows. */
  stepMs: number;
}

/** Wall-clock ms of `d` replayed `reps` times in one pass and one submit of its own, until the GPU is done. */
export async function replayDispatch(device: Device, d: RecordedDispatch, reps = 1): Promise<number> {
  const encoder = device.gpu.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(d.pipeline);
  pass.setBindGroup(0, d.bindGroup);
  for (let r = 0; r < reps; r++) pass.dispatchWorkgroups(...d.groups);
  pass.end();
  const t0 = performance.now();
  device.gpu.queue.submit([encoder.finish()]);
  await device.gpu.queue.onSubmittedWorkDone();
  return performance.now() - t0;
}

/** Replays each dispatch `reps` times alone and sums the times per kernel, slowest kernel first. */
export async function profileDispatches(device: Device, dispatches: readonly RecordedDispatch[], reps: number): Promise<ProfileRow[]> {
  const byKernel = new Map<string, ProfileRow>();
  for (const d of dispatches) {
    const ms = await replayDispatch(device, d, reps);
    const row = byKernel.get(d.kernel) ?? { kernel: d.kernel, dispatches: 0, ms: 0 };
    row.dispatches++;
    row.ms += ms / reps;
    byKernel.set(d.kernel, row);
  }
  device.throwIfFailed();
  return [...byKernel.values()].sort((a, b) => b.ms - a.ms);
}

/** The per-kernel profile of one training step (forward, MSE, backward, Adam) of LMFN at batch × crop². */
export async function profileTrainStep(device: Device, batch: number, crop: number, reps: number): Promise<Profile> {
  const fixture = trainStepFixture(device, batch, crop);
  const step = () => fixture.step().dispose();
  try {
    step(); // compiles every pipeline
    await device.sync();
    const captured: RecordedDispatch[] = [];
    device.capture = captured;
    try {
      step();
    } finally {
      device.capture = null;
    }
    await device.sync();
    const t0 = performance.now();
    step();
    await device.sync();
    const stepMs = performance.now() - t0;
    return { rows: await profileDispatches(device, captured, reps), dispatches: captured.length, stepMs };
  } finally {
    fixture.dispose();
  }
}
