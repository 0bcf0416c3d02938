// LMFN weight files: model/checkpoint.ts's strict loading, from a path, and an
// atomic write (temporary file, then rename), so a crash never leaves half a file.

import { readSafetensors, writeSafetensors, type Module } from '../engine/node/index.ts';
import { expectedShapes } from '../model/checkpoint.ts';

/** Loads weights into `model`; throws SafetensorsError naming the file, the key and the problem. */
export function loadWeights(model: Module, path: string): Record<string, string> {
  const file = readSafetensors(path, { expect: expectedShapes(model) });
  model.loadStateDict(file.tensors);
  return file.metadata;
}

/** Writes every parameter atomically. */
export async function saveWeights(model: Module, path: string, metadata: Record<string, string> = {}): Promise<void> {
  writeSafetensors(path, await model.stateDict(), { format: 'pt', ...metadata });
}
