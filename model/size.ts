// LMFN's size rule (§2): H and W multiples of 16 (two stride-2 convs, then the 1/4-scale map's
// own stride-2 and ×2 paths) and at least 64. Its own file, free of the engine, so that data
// loaders (worker threads) can ask the model for it without loading a GPU.

export const SIZE_MULTIPLE = 16;
export const MIN_SIZE = 64;

/** The padded size for an H×W image: the next multiple of 16, at least 64. */
export function modelSize(h: number, w: number): [number, number] {
  const up = (v: number) => Math.max(MIN_SIZE, Math.ceil(v / SIZE_MULTIPLE) * SIZE_MULTIPLE);
  return [up(h), up(w)];
}
