// Reverse-mode autograd on a tape of tensors.
//
// Each op output remembers its inputs and a backward rule (`GradFn`). backward()
// orders the graph with an iterative depth-first search (no recursion, so deep
// nets cannot overflow the stack), then walks it once in reverse: every node's
// rule runs exactly once with the sum of the gradients of all its consumers,
// which is what makes a tensor that feeds several ops (residual blocks) correct.
// The walk is all backward() does; holding and freeing gradient buffers
// (`GradRefs`), summing two gradients and adding one into a leaf's `.grad`
// are the small helpers below, and an optimizer that keeps `.grad` in an
// arena batches those adds through a `GradSink` of its own.

import { DisposedError, EngineError, ShapeError, formatShape } from './errors.ts';
import { Tensor, sameShape } from './tensor.ts';
import { accumulate, binary, fill } from '../kernels/elementwise.ts';

export interface GradFn {
  /** The op's name, for errors. */
  op: string;
  inputs: readonly Tensor[];
  /** Gradients of the inputs, in order, given the output's gradient (null where not needed). Runs in no-grad mode. */
  backward(grad: Tensor): readonly (Tensor | null | undefined)[];
  /** Tensors only this backward reads (not inputs, so nobody else holds them): disposed with the output. */
  saved?: readonly Tensor[];
}

/**
 * Takes a leaf's gradients instead of the default add into `.grad`: an
 * optimizer whose `.grad` tensors share one buffer adds many in one dispatch.
 */
export interface GradSink {
  /**
   * Adds `g` into `leaf.grad`, now or at `flush()`, and calls `done(g)` once it
   * has recorded the add; returns false (and keeps nothing) to leave `g` to the default.
   */
  add(leaf: Tensor, g: Tensor, done: (g: Tensor) => void): boolean;
  /** Records every add still deferred; backward() calls it once at the end. */
  flush(): void;
}

const sinks = new WeakMap<Tensor, GradSink>();

/** Routes `leaf`'s gradients to `sink` (null: back to the default). */
export function setGradSink(leaf: Tensor, sink: GradSink | null): void {
  if (sink) sinks.set(leaf, sink);
  else sinks.delete(leaf);
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording a tape (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * Attaches a backward rule to `out` when grad mode is on and some input requires grad. `saved`
 * (what only the rule reads) is freed with `out`, or at once when nothing is recorded.
 */
export function record(out: Tensor, op: string, inputs: readonly Tensor[], backward: GradFn['backward'], saved?: readonly Tensor[]): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.gradFn = { op, inputs, backward, saved };
  } else {
    for (const t of saved ?? []) t.dispose();
  }
  return out;
}

export function backward(root: Tensor, seed?: Tensor): void {
  checkRoot(root, seed);
  const order = topologicalOrder(root);
  const refs = new GradRefs(seed);
  const grads = new Map<Tensor, Tensor>();
  const used = new Set<GradSink>();
  noGrad(() => {
    grads.set(root, refs.hold(rootGradient(root, seed)));
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (t.gradFn) propagate(t.gradFn, g, grads, refs);
      else toLeaf(t, g, refs, used);
    }
    for (const sink of used) sink.flush();
  });
}

function checkRoot(root: Tensor, seed?: Tensor): void {
  if (!root.requiresGrad) {
    throw new EngineError(`backward: tensor ${root.describe()} does not require grad (no input of it is a trainable leaf, or it was computed under noGrad)`);
  }
  if (seed && (seed.size !== root.size || seed.device !== root.device)) {
    throw new ShapeError(`backward: gradient ${formatShape(seed.shape)} does not match tensor ${formatShape(root.shape)}`);
  }
  if (!seed && root.size !== 1) {
    throw new ShapeError(`backward: tensor ${root.describe()} is not a scalar; pass its gradient explicitly`);
  }
}

/** Inputs before outputs, iteratively. */
function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>([root]);
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const inputs = top[0].gradFn?.inputs ?? [];
    if (top[1] < inputs.length) {
      const next = inputs[top[1]++];
      if (next.requiresGrad && !seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      stack.pop();
      order.push(top[0]);
    }
  }
  return order;
}

function rootGradient(root: Tensor, seed?: Tensor): Tensor {
  if (seed) return sameShape(seed.shape, root.shape) ? seed : seed.reshape(root.shape);
  const ones = Tensor.empty(root.device, root.shape);
  fill(ones, 1);
  return ones;
}

/** Runs one node's rule and hands each input its gradient, summed with what it already has. */
function propagate(fn: GradFn, g: Tensor, grads: Map<Tensor, Tensor>, refs: GradRefs): void {
  let inputGrads: readonly (Tensor | null | undefined)[];
  try {
    inputGrads = fn.backward(g);
  } catch (e) {
    if (e instanceof DisposedError) {
      throw new DisposedError(`backward of ${fn.op}: a tensor it saved was disposed before backward() (${e.message})`);
    }
    throw e;
  }
  fn.inputs.forEach((input, k) => {
    const gi = inputGrads[k];
    if (!gi) return;
    if (!input.requiresGrad) {
      if (gi !== g && !refs.holds(gi)) gi.dispose();
      return;
    }
    if (gi.size !== input.size) {
      throw new EngineError(`backward of ${fn.op}: gradient ${formatShape(gi.shape)} for input ${formatShape(input.shape)} (engine bug)`);
    }
    refs.hold(gi);
    const prev = grads.get(input);
    grads.set(input, prev ? sumGradients(prev, gi, refs) : gi);
  });
  refs.release(g);
}

/** a + b as a new held gradient; releases both. Same size, any shapes (a's is kept). */
function sumGradients(a: Tensor, b: Tensor, refs: GradRefs): Tensor {
  const sum = Tensor.empty(a.device, a.shape);
  binary('add', a, b, sum);
  refs.hold(sum);
  refs.release(a);
  refs.release(b);
  return sum;
}

/** A leaf's gradient goes to its sink, or is added into `.grad` (or becomes it). */
function toLeaf(leaf: Tensor, g: Tensor, refs: GradRefs, used: Set<GradSink>): void {
  const sink = sinks.get(leaf);
  if (sink?.add(leaf, g, (done) => refs.release(done))) {
    used.add(sink);
    return;
  }
  accumulateLeaf(leaf, g, refs.soleOwner(g));
  if (leaf.grad === g) refs.forget(g);
  else refs.release(g);
}

/** Adds `g` into `leaf.grad`, taking `g` itself when nothing else holds it. */
function accumulateLeaf(leaf: Tensor, g: Tensor, owned: boolean): void {
  if (leaf.grad && !leaf.grad.disposed) {
    accumulate(leaf.grad, g);
    return;
  }
  let grad = g;
  if (!owned || g.byteOffset !== 0 || g.storage().refs > 1 || g.shape.length !== leaf.shape.length) {
    grad = Tensor.empty(leaf.device, leaf.shape);
    fill(grad, 0);
    accumulate(grad, g);
  }
  leaf.grad = grad.keep();
  leaf.grad.name = leaf.name ? `${leaf.name}.grad` : '';
}

/**
 * How many places still hold each gradient tensor; the last release frees it,
 * so a gradient's buffer goes back to the pool as soon as its consumers are
 * done. The user's seed is never freed.
 */
class GradRefs {
  private counts = new Map<Tensor, number>();
  constructor(private readonly seed?: Tensor) {}
  hold(g: Tensor): Tensor {
    this.counts.set(g, (this.counts.get(g) ?? 0) + 1);
    return g;
  }
  holds(g: Tensor): boolean {
    return this.counts.has(g);
  }
  /** Whether `g` is ours alone to hand over (one holder, not the seed). */
  soleOwner(g: Tensor): boolean {
    return this.counts.get(g) === 1 && g !== this.seed;
  }
  release(g: Tensor): void {
    const n = (this.counts.get(g) ?? 0) - 1;
    if (n > 0) {
      this.counts.set(g, n);
      return;
    }
    this.counts.delete(g);
    if (g !== this.seed) g.dispose();
  }
  /** Stops tracking `g` without freeing it (a leaf took it as its `.grad`). */
  forget(g: Tensor): void {
    this.counts.delete(g);
  }
}
