// Every error the engine throws on purpose is one of these, so callers can tell
// a misuse (ShapeError, DisposedError, DeviceMismatchError) from a GPU fault
// (KernelError, DeviceLostError) without parsing messages.

export class EngineError extends Error {
  override name = 'EngineError';
}

/** Shapes that do not fit an op; the message names the op and both shapes. */
export class ShapeError extends EngineError {
  override name = 'ShapeError';
}

/** A tensor was used after `dispose()` (or after the scope that owned it ended). */
export class DisposedError extends EngineError {
  override name = 'DisposedError';
}

/** Tensors from two different devices met in one op. */
export class DeviceMismatchError extends EngineError {
  override name = 'DeviceMismatchError';
}

/** A WGSL compile error, pipeline validation error or dispatch validation error, naming the kernel. */
export class KernelError extends EngineError {
  override name = 'KernelError';
}

/** The GPU device was lost (driver reset, out of memory, destroyed); nothing more can run on it. */
export class DeviceLostError extends EngineError {
  override name = 'DeviceLostError';
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
