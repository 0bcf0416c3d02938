// LMFN weights as safetensors with the spec's PyTorch names (LMFN.md §6, §10),
// as bytes, so that a page loads them as Node does. Loading is strict: the key
// set, dtypes and shapes must match the model exactly. Files: train/weights.ts.

import { parseSafetensors, serializeSafetensors, type Module } from '../engine/index.ts';

/** Name → shape of every parameter of `model`, the checkpoint's expected key set. */
export function expectedShapes(model: Module): Map<string, readonly number[]> {
  return new Map(model.namedParameters().map(([name, t]) => [name, t.shape]));
}

/** Loads weights from safetensors bytes into `model`; throws SafetensorsError naming `source`, the key and the problem. */
export function loadWeightsFrom(model: Module, bytes: Uint8Array, source = '<bytes>'): Record<string, string> {
  const file = parseSafetensors(bytes, { expect: expectedShapes(model), source });
  model.loadStateDict(file.tensors);
  return file.metadata;
}

/** Every parameter as safetensors bytes, PyTorch's layout (`format: pt`). */
export async function weightsBytes(model: Module, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  return serializeSafetensors(await model.stateDict(), { format: 'pt', ...metadata });
}
