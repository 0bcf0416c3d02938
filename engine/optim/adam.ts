// Adam with PyTorch `torch.optim.Adam` semantics: L2 weight decay is added to
// the gradient (g' = g + wd·p), it is not decoupled as in AdamW.
//
// The optimizer packs every parameter into one arena: the constructor copies
// the parameters' values into one flat buffer (each parameter starting on a
// minStorageBufferOffsetAlignment boundary, so its view can be bound alone)
// and re-points each parameter at its slice. Gradients, first and second
// moments get arenas with the same layout, and the gradient slices become the
// parameters' `.grad` for good: backward accumulates straight into the arena,
// step() is one dispatch over the whole arena and zeroGrad() one buffer clear.
// backward() hands the parameters' gradients to `ArenaGrads`, which adds up to
// eight of them into the arena per dispatch.

import type { Device } from '../device.ts';
import { DisposedError, EngineError } from '../errors.ts';
import type { PooledBuffer } from '../pool.ts';
import { Tensor, deviceOf } from '../tensor.ts';
import { setGradSink } from '../autograd.ts';
import { adamStep, type AdamArenas } from '../../kernels/adam.ts';
import { ArenaGrads } from './arena-grads.ts';

export interface AdamOptions {
  /** Default 1e-3. */
  lr?: number;
  /** (β1, β2), default (0.9, 0.999). */
  betas?: [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** L2 penalty added to the gradient, default 0. */
  weightDecay?: number;
}

/** Optimizer state for checkpoints: the step count and each parameter's moments, in parameter order. */
export interface AdamState {
  step: number;
  /** First moments (PyTorch `exp_avg`), one array per parameter. */
  m: Float32Array[];
  /** Second moments (PyTorch `exp_avg_sq`), one array per parameter. */
  v: Float32Array[];
}

export class Adam {
  /** Learning rate of the next step(); schedules change it between steps. */
  lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly params: readonly Tensor[];

  private readonly device: Device;
  /** Element offset of each parameter in the arenas. */
  private readonly offsets: number[];
  /** Arena length in elements (a multiple of 4). */
  private readonly length: number;
  private readonly paramArena: Tensor;
  private readonly gradArena: Tensor;
  private readonly expAvg: Tensor;
  private readonly expAvgSq: Tensor;
  private readonly grads: Tensor[];
  private steps = 0;
  private disposed = false;

  constructor(params: Tensor[], options: AdamOptions = {}) {
    const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0 } = options;
    if (!(lr >= 0)) throw new EngineError(`Adam: invalid learning rate ${lr}`);
    if (!(eps >= 0)) throw new EngineError(`Adam: invalid eps ${eps}`);
    if (!(weightDecay >= 0)) throw new EngineError(`Adam: invalid weight decay ${weightDecay}`);
    betas.forEach((b, i) => {
      if (!(b >= 0 && b < 1)) throw new EngineError(`Adam: invalid beta at index ${i}: ${b} (must be in [0, 1))`);
    });
    this.lr = lr;
    this.betas = [betas[0], betas[1]];
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.params = checkParams(params);
    const device = (this.device = deviceOf('Adam', ...params));

    // Each parameter starts on a bindable offset; a multiple of 16 bytes keeps the arena in whole vec4s.
    const unit = Math.max(16, device.limits.minStorageBufferOffsetAlignment) / 4;
    this.offsets = [];
    let length = 0;
    for (const p of params) {
      this.offsets.push(length);
      length += Math.ceil(p.size / unit) * unit;
    }
    this.length = length;
    const arena = () => new Tensor(device, [length], device.pool.acquire(length * 4)).keep();
    this.paramArena = arena();
    this.gradArena = arena();
    this.expAvg = arena();
    this.expAvgSq = arena();

    // Recycled pool buffers hold stale data; the padding must be 0 so it stays 0.
    for (const t of [this.paramArena, this.gradArena, this.expAvg, this.expAvgSq]) clear(t);
    const encoder = device.commandEncoder();
    const copy = (src: Tensor, dst: PooledBuffer, element: number) => {
      if (src.size === 0) return;
      const from = src.storage();
      encoder.copyBufferToBuffer(from.buffer, src.byteOffset, dst.buffer, element * 4, src.size * 4);
      // The source may go back to the pool now; an upload into it must wait for this copy.
      from.lastUse = device.epoch;
    };
    this.grads = params.map((p, i) => {
      const offset = this.offsets[i];
      copy(p, this.paramArena.storage(), offset);
      const old = p.grad;
      if (old && !old.disposed) copy(old, this.gradArena.storage(), offset);
      old?.dispose();
      p._rebind(this.paramArena.storage(), offset * 4);
      const grad = new Tensor(device, p.shape, this.gradArena.storage(), offset * 4).keep();
      grad.name = p.name ? `${p.name}.grad` : '';
      p.grad = grad;
      return grad;
    });
    const sink = new ArenaGrads(() => this.gradArena);
    for (const p of params) setGradSink(p, sink);
  }

  /** The number of step() calls so far (PyTorch's `state['step']`, t in the bias corrections). */
  get stepCount(): number {
    return this.steps;
  }

  /** Records one update of every parameter from its `.grad`. Never waits for the GPU. */
  step(): void {
    this.checkUsable('step');
    const t = ++this.steps;
    const [beta1, beta2] = this.betas;
    const biasCorrection1 = 1 - beta1 ** t;
    const biasCorrection2 = 1 - beta2 ** t;
    adamStep(this.device, this.arenaBuffers(), this.length, {
      stepSize: this.lr / biasCorrection1,
      invSqrtBiasCorrection2: 1 / Math.sqrt(biasCorrection2),
      beta1,
      beta2,
      eps: this.eps,
      weightDecay: this.weightDecay,
    });
  }

  /** Sets every gradient to 0 (one clear of the gradient arena). */
  zeroGrad(): void {
    this.checkUsable('zeroGrad');
    clear(this.gradArena);
  }

  /** A copy of the moments and step count, for a checkpoint. */
  async state(): Promise<AdamState> {
    this.checkUsable('state');
    const step = this.steps;
    // Both copies are recorded before the first await, so no step can land between them.
    const [m, v] = await Promise.all([this.expAvg.read(), this.expAvgSq.read()]);
    const split = (all: Float32Array) => this.params.map((p, i) => all.slice(this.offsets[i], this.offsets[i] + p.size));
    return { step, m: split(m), v: split(v) };
  }

  /** Restores what state() returned, so training resumes exactly where it was saved. */
  loadState(state: AdamState): void {
    this.checkUsable('loadState');
    if (!Number.isInteger(state.step) || state.step < 0) throw new EngineError(`Adam.loadState: invalid step ${state.step}`);
    const pack = (arrays: ArrayLike<number>[], what: string) => {
      if (arrays.length !== this.params.length) {
        throw new EngineError(`Adam.loadState: ${arrays.length} ${what} arrays for ${this.params.length} parameters`);
      }
      const all = new Float32Array(this.length);
      arrays.forEach((a, i) => {
        const p = this.params[i];
        if (a.length !== p.size) {
          throw new EngineError(`Adam.loadState: ${what}[${i}] has ${a.length} values, parameter ${i} ${p.describe()} has ${p.size}`);
        }
        all.set(a, this.offsets[i]);
      });
      return all;
    };
    const m = pack(state.m, 'm');
    const v = pack(state.v, 'v');
    this.expAvg.write(m);
    this.expAvgSq.write(v);
    this.steps = state.step;
  }

  /**
   * Frees the moments. The parameters and their gradients keep their arena
   * views (and so the arena memory) until they are disposed themselves.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.params) setGradSink(p, null);
    for (const t of [this.paramArena, this.gradArena, this.expAvg, this.expAvgSq]) t.dispose();
  }

  private arenaBuffers(): AdamArenas {
    return {
      param: this.paramArena.storage(),
      grad: this.gradArena.storage(),
      expAvg: this.expAvg.storage(),
      expAvgSq: this.expAvgSq.storage(),
    };
  }

  /** The update reads the arenas, not the tensors: catch anything that moved a parameter or its gradient out. */
  private checkUsable(method: string): void {
    if (this.disposed) throw new DisposedError(`Adam.${method}: the optimizer was disposed`);
    const paramBuf = this.paramArena.storage();
    this.params.forEach((p, i) => {
      const where = `Adam.${method}: parameter ${i} ${p.describe()}`;
      if (p.disposed) throw new DisposedError(`${where} was disposed`);
      if (p.storage() !== paramBuf || p.byteOffset !== this.offsets[i] * 4) {
        throw new EngineError(`${where} no longer lives in this optimizer's arena (was it given to another optimizer?)`);
      }
      if (p.grad !== this.grads[i] || p.grad.disposed) {
        throw new EngineError(`${where} had its .grad replaced or disposed; the optimizer owns .grad (use zeroGrad() instead)`);
      }
    });
  }
}

function checkParams(params: Tensor[]): Tensor[] {
  if (!Array.isArray(params) || params.length === 0) throw new EngineError('Adam: got an empty parameter list');
  const seen = new Set<Tensor>();
  params.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new EngineError(`Adam: parameter ${i} is not a Tensor`);
    const what = `Adam: parameter ${i} ${p.describe()}`;
    if (p.disposed) throw new DisposedError(`${what} was disposed`);
    if (seen.has(p)) throw new EngineError(`${what} appears more than once in the parameter list`);
    if (!p.isLeaf) throw new EngineError(`${what} is computed by ${p.gradFn!.op}; only leaf tensors can be optimized`);
    if (!p.requiresGrad) throw new EngineError(`${what} does not require grad (call requireGrad() on it)`);
    seen.add(p);
  });
  return [...params];
}

/** Zero-fills all of `t`'s buffer range, outside the compute pass. */
function clear(t: Tensor): void {
  const r = t.range();
  if (r.size === 0) return;
  t.device.commandEncoder().clearBuffer(r.buf.buffer, r.offset, r.size);
  r.buf.lastUse = t.device.epoch;
}
