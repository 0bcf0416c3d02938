// LMFN weights as safetensors files with the spec's PyTorch names (LMFN.md §6, §10).
// Loading is strict: the key set, dtypes and shapes must match the model exactly.

import { readSafetensors, writeSafetensors, type Module } from '../engine/index.ts';

/** Name → shape of every parameter of `model`, the checkpoint's expected key set. */
export function expectedShapes(model: Module): Map<string, readonly number[]> {
  return new Map(model.namedParameters().map(([name, t]) => [name, t.shape]));
}

/** Loads weights into `model`; throws SafetensorsError naming the key and the problem. */
export function loadWeights(model: Module, path: string): Record<string, string> {
  const file = readSafetensors(path, { expect: expectedShapes(model) });
  model.loadStateDict(file.tensors);
  return file.metadata;
}

/** Writes every parameter atomically (temporary file, then rename). */
export async function saveWeights(model: Module, path: string, metadata: Record<string, string> = {}): Promise<void> {
  writeSafetensors(path, await model.stateDict(), { format: 'pt', ...metadata });
}
