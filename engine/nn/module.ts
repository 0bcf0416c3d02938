// Modules group parameters under PyTorch state_dict names ("encoder.down1.weight"),
// so checkpoints interoperate with PyTorch through safetensors files.
//
// Memory at the edges: a module's `forward` runs in `tidyInInference`, the way
// PyTorch's __call__ wraps forward. In inference a block's intermediates go
// back to the pool as soon as it returns, so a model's forward reads as the
// math with no dispose calls; with grad on they belong to the tape, and the
// training step's own `tidy` frees them after backward.

import { EngineError, ShapeError, formatShape } from '../errors.ts';
import type { Device } from '../device.ts';
import { Tensor } from '../tensor.ts';
import { isGradEnabled } from '../autograd.ts';
import { tidy } from '../scope.ts';

/**
 * `tidy(fn)` in inference (no grad), where fn's intermediates are garbage once
 * it returns; just `fn()` with grad on, where backward still needs them.
 */
export function tidyInInference<T>(fn: () => T): T {
  return isGradEnabled() ? fn() : tidy(fn);
}

export abstract class Module {
  private readonly ownParams = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  constructor(readonly device: Device) {
    const forward = (this as { forward?: unknown }).forward;
    if (typeof forward === 'function') {
      const scoped = (...args: unknown[]): unknown => tidyInInference(() => forward.apply(this, args));
      Object.defineProperty(this, 'forward', { value: scoped, writable: true, configurable: true });
    }
  }

  /** Registers a trainable parameter (a kept leaf that requires grad). */
  protected parameter(name: string, shape: readonly number[], values: Float32Array): Tensor {
    const t = Tensor.fromData(this.device, values, shape).requireGrad().keep();
    t.name = name;
    this.ownParams.set(name, t);
    return t;
  }

  protected module<M extends Module>(name: string, child: M): M {
    this.children.set(name, child);
    return child;
  }

  /** Parameters with their dotted names, in registration order (the checkpoint order). */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, t] of this.ownParams) out.push([prefix + n, t]);
    for (const [n, m] of this.children) out.push(...m.namedParameters(`${prefix}${n}.`));
    for (const [name, t] of out) if (prefix === '') t.name = name;
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  parameterCount(): number {
    return this.parameters().reduce((n, t) => n + t.size, 0);
  }

  /** Values of every parameter by name (reads back from the GPU). */
  async stateDict(): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
    const named = this.namedParameters();
    // All copies recorded and all maps in flight together: one round trip to the GPU, not one per parameter.
    const data = await Promise.all(named.map(([, t]) => t.read()));
    return new Map(named.map(([name, t], i) => [name, { shape: [...t.shape], data: data[i] }]));
  }

  /** Overwrites every parameter; the key set and each shape must match exactly. */
  loadStateDict(state: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>): void {
    const named = this.namedParameters();
    const missing = named.filter(([n]) => !state.has(n)).map(([n]) => n);
    const known = new Set(named.map(([n]) => n));
    const unexpected = [...state.keys()].filter((k) => !known.has(k));
    if (missing.length || unexpected.length) {
      const list = (xs: string[]) => xs.slice(0, 5).join(', ') + (xs.length > 5 ? `, … (${xs.length} in all)` : '');
      throw new EngineError(
        `loadStateDict: ${missing.length ? `missing ${list(missing)}` : ''}${missing.length && unexpected.length ? '; ' : ''}` +
          `${unexpected.length ? `unexpected ${list(unexpected)}` : ''}`,
      );
    }
    for (const [name, t] of named) {
      const v = state.get(name)!;
      if (v.shape.length !== t.shape.length || v.shape.some((d, i) => d !== t.shape[i])) {
        throw new ShapeError(`loadStateDict: '${name}' has shape ${formatShape(v.shape)}, the model expects ${formatShape(t.shape)}`);
      }
    }
    for (const [name, t] of named) t.write(state.get(name)!.data);
  }

  /** Frees every parameter (and its gradient). */
  dispose(): void {
    for (const t of this.parameters()) {
      t.grad?.dispose();
      t.dispose();
    }
  }
}
