// A Tensor is a float32, contiguous, row-major N-D view of a pooled GPU buffer.
// Views (reshape, parameter arenas) share a buffer through its reference count.

import type { Device } from './device.ts';
import { DeviceMismatchError, DisposedError, EngineError, ShapeError, formatShape } from './errors.ts';
import type { BufferRange } from './kernel.ts';
import type { PooledBuffer } from './pool.ts';
import { track, untrack } from './scope.ts';
import { backward as runBackward, isGradEnabled, type GradFn } from './autograd.ts';

let nextTensorId = 1;

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function checkShape(shape: readonly number[], what: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`${what}: invalid shape ${formatShape(shape)}`);
  }
}

export class Tensor {
  readonly id = nextTensorId++;
  readonly size: number;
  requiresGrad = false;
  /** Accumulated gradient of a leaf that requires grad, after `backward()`. */
  grad: Tensor | null = null;
  /** How this tensor was computed, for backward; null for leaves and in no-grad mode. */
  gradFn: GradFn | null = null;
  /** Kept tensors survive the `tidy` scope they were created in. */
  kept = false;
  /** A short name shown in errors (parameters carry theirs). */
  name = '';
  private _disposed = false;

  /** Wraps a buffer range; takes one reference on `buf`. Use the factories below instead. */
  constructor(
    readonly device: Device,
    readonly shape: readonly number[],
    private buf: PooledBuffer,
    /** Byte offset of element 0 in `buf`. */
    readonly byteOffset = 0,
  ) {
    this.size = sizeOf(shape);
    buf.refs++;
    track(this);
  }

  /** An uninitialised tensor (kernels that write every element use this). */
  static empty(device: Device, shape: readonly number[]): Tensor {
    checkShape(shape, 'empty');
    return new Tensor(device, [...shape], device.pool.acquire(sizeOf(shape) * 4));
  }

  static fromData(device: Device, data: ArrayLike<number>, shape: readonly number[] = [data.length]): Tensor {
    checkShape(shape, 'tensor');
    if (sizeOf(shape) !== data.length) {
      throw new ShapeError(`tensor: ${data.length} values do not fill shape ${formatShape(shape)} (${sizeOf(shape)} elements)`);
    }
    const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
    return new Tensor(device, [...shape], device.upload(f32));
  }

  get rank(): number {
    return this.shape.length;
  }
  get disposed(): boolean {
    return this._disposed;
  }
  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** The bound buffer range, for kernel launchers. Throws if disposed. */
  range(): BufferRange {
    if (this._disposed) throw new DisposedError(`tensor ${this.describe()} was used after dispose()`);
    return { buf: this.buf, offset: this.byteOffset, size: this.size * 4 };
  }

  /** The underlying buffer, for views that share it (reshape, arenas). */
  storage(): PooledBuffer {
    this.range();
    return this.buf;
  }

  /**
   * Internal, for optimizers that pack parameters into one arena buffer:
   * re-points this tensor at `byteOffset` of `buf` (same shape), taking a
   * reference on `buf` and releasing the old buffer. Copying the values is
   * the caller's job; views made before the call keep the old buffer.
   */
  _rebind(buf: PooledBuffer, byteOffset: number): void {
    this.range();
    if (byteOffset < 0 || byteOffset % 4 !== 0 || byteOffset + this.size * 4 > buf.byteSize) {
      throw new EngineError(`_rebind: ${this.size * 4} bytes at offset ${byteOffset} do not fit a ${buf.byteSize}-byte buffer`);
    }
    buf.refs++;
    if (--this.buf.refs === 0) this.device.pool.release(this.buf);
    this.buf = buf;
    (this as { byteOffset: number }).byteOffset = byteOffset;
  }

  describe(): string {
    return `${this.name ? `'${this.name}' ` : ''}${formatShape(this.shape)}`;
  }

  /** Copies the values to the CPU. Submits pending work; the only await the engine has besides sync(). */
  async read(): Promise<Float32Array> {
    const r = this.range();
    return this.device.read(r.buf, r.offset, r.size);
  }

  /** The value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new ShapeError(`item: tensor ${this.describe()} has ${this.size} elements, not 1`);
    return (await this.read())[0];
  }

  /**
   * Overwrites values from the CPU (shape unchanged), not recorded by autograd: all of them, or,
   * with `start`, the `data.length` elements from flat index `start` on (`t.flatten()[start:].copy_()`).
   */
  write(data: ArrayLike<number>, start?: number): void {
    if (start === undefined ? data.length !== this.size : !Number.isInteger(start) || start < 0 || start + data.length > this.size) {
      const what = start === undefined ? '' : ` from element ${start}`;
      throw new ShapeError(`write: ${data.length} values${what} for tensor ${this.describe()} of ${this.size} elements`);
    }
    const r = this.range();
    this.device.write(r.buf, r.offset + 4 * (start ?? 0), data instanceof Float32Array ? data : Float32Array.from(data));
  }

  /** A view with another shape and the same data; -1 infers one dimension. */
  reshape(...shape: number[] | [readonly number[]]): Tensor {
    const dims = (Array.isArray(shape[0]) ? shape[0] : shape) as number[];
    const buf = this.storage();
    const view = new Tensor(this.device, inferShape(dims, this.size, this.shape), buf, this.byteOffset);
    if (isGradEnabled() && this.requiresGrad) {
      const from = this.shape;
      view.requiresGrad = true;
      view.gradFn = { op: 'reshape', inputs: [this], backward: (g) => [g.reshape(from)] };
    }
    return view;
  }

  /** A view of the same data with no autograd history. */
  detach(): Tensor {
    return new Tensor(this.device, this.shape, this.storage(), this.byteOffset);
  }

  /** Marks the tensor as a trainable leaf. */
  requireGrad(flag = true): this {
    if (!this.isLeaf) throw new EngineError(`requireGrad: ${this.describe()} is computed by ${this.gradFn!.op}; only leaves can be made trainable`);
    this.requiresGrad = flag;
    return this;
  }

  /** Exempts the tensor from the enclosing `tidy` scope. */
  keep(): this {
    this.kept = true;
    untrack(this);
    return this;
  }

  /**
   * Reverse-mode differentiation from this tensor: leaves that require grad
   * get the gradient added to `.grad`. `grad` defaults to ones for a scalar.
   */
  backward(grad?: Tensor): void {
    runBackward(this, grad);
  }

  /** Returns the buffer to the pool (when no other view holds it). Idempotent. */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    const saved = this.gradFn?.saved;
    this.gradFn = null;
    for (const t of saved ?? []) t.dispose();
    untrack(this);
    if (--this.buf.refs === 0) this.device.pool.release(this.buf);
  }
}

function inferShape(dims: readonly number[], size: number, from: readonly number[]): number[] {
  const out = [...dims];
  const unknown = out.indexOf(-1);
  if (unknown >= 0) {
    const rest = sizeOf(out.filter((_, i) => i !== unknown));
    if (rest === 0 || size % rest !== 0) {
      throw new ShapeError(`reshape: cannot reshape ${formatShape(from)} to ${formatShape(dims)}`);
    }
    out[unknown] = size / rest;
  }
  checkShape(out, 'reshape');
  if (sizeOf(out) !== size) {
    throw new ShapeError(`reshape: cannot reshape ${formatShape(from)} (${size} elements) to ${formatShape(dims)}`);
  }
  return out;
}

/** The common device of `tensors`; throws naming `op` if they differ or any is disposed. */
export function deviceOf(op: string, ...tensors: Tensor[]): Device {
  const device = tensors[0].device;
  for (const t of tensors) {
    if (t.disposed) throw new DisposedError(`${op}: input tensor ${t.describe()} was used after dispose()`);
    if (t.device !== device) {
      throw new DeviceMismatchError(`${op}: inputs live on different devices (device #${device.id} and #${t.device.id})`);
    }
  }
  device.checkAlive();
  return device;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
