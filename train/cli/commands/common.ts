// What every lmfn subcommand starts with: a device (announced on stderr, so
// stdout stays clean for --json) and, where needed, an LMFN with loaded weights.

import { existsSync } from 'node:fs';
import { Device } from '../../../engine/node/index.ts';
import { LMFN } from '../../../model/lmfn.ts';
import { loadWeights } from '../../weights.ts';
import { UsageError } from '../args.ts';

export async function openDevice(quiet = false): Promise<Device> {
  const device = await Device.create();
  if (!quiet) console.error(device.summary());
  return device;
}

export function requireFile(path: string, flag: string): void {
  if (!existsSync(path)) throw new UsageError(`--${flag}: no such file or directory: ${path}`);
}

export function loadModel(device: Device, weights: string): LMFN {
  requireFile(weights, 'weights');
  const model = new LMFN(device);
  loadWeights(model, weights);
  return model;
}
