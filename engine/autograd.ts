// Reverse-mode autograd on a tape of tensors.
//
// Each op output remembers its inputs and a backward rule (`GradFn`). backward()
// orders the graph with an iterative depth-first search (no recursion, so deep
// nets cannot overflow the stack), then walks it once in reverse: every node's
// rule runs exactly once with the sum of the gradients of all its consumers,
// which is what makes a tensor that feeds several ops (residual blocks) correct.
// Gradient tensors are freed as soon as their last consumer is done.

import { DisposedError, EngineError, ShapeError, formatShape } from './errors.ts';
import { sameShape, type Tensor } from './tensor.ts';
import { ACCUMULATE_MANY, accumulate, accumulateMany, fill } from '../kernels/elementwise.ts';
import { add } from './ops/elementwise.ts';

export interface GradFn {
  /** The op's name, for errors. */
  op: string;
  inputs: readonly Tensor[];
  /** Gradients of the inputs, in order, given the output's gradient (null where not needed). Runs in no-grad mode. */
  backward(grad: Tensor): readonly (Tensor | null | undefined)[];
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

/** Attaches a backward rule to `out` when grad mode is on and some input requires grad. */
export function record(out: Tensor, op: string, inputs: readonly Tensor[], backward: GradFn['backward']): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.gradFn = { op, inputs, backward };
  }
  return out;
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

export function backward(root: Tensor, seed?: Tensor): void {
  if (!root.requiresGrad) {
    throw new EngineError(`backward: tensor ${root.describe()} does not require grad (no input of it is a trainable leaf, or it was computed under noGrad)`);
  }
  if (seed && (seed.size !== root.size || seed.device !== root.device)) {
    throw new ShapeError(`backward: gradient ${formatShape(seed.shape)} does not match tensor ${formatShape(root.shape)}`);
  }
  if (!seed && root.size !== 1) {
    throw new ShapeError(`backward: tensor ${root.describe()} is not a scalar; pass its gradient explicitly`);
  }
  const order = topologicalOrder(root);
  // How many holders each gradient tensor has; the user's seed is never freed.
  const holders = new Map<Tensor, number>();
  const hold = (g: Tensor) => holders.set(g, (holders.get(g) ?? 0) + 1);
  const release = (g: Tensor) => {
    const n = (holders.get(g) ?? 0) - 1;
    if (n > 0) holders.set(g, n);
    else {
      holders.delete(g);
      if (g !== seed) g.dispose();
    }
  };
  // Gradients bound for leaves that already have a .grad (the optimizer's
  // arena slices) are added in batches that share a destination buffer, one
  // dispatch per batch; each source is released once its batch is recorded.
  const pending: { dst: Tensor; src: Tensor }[] = [];
  const flush = () => {
    accumulateMany(pending.map(({ dst, src }) => [dst, src] as const));
    for (const { src } of pending) release(src);
    pending.length = 0;
  };
  const prevEnabled = gradEnabled;
  gradEnabled = false;
  try {
    const grads = new Map<Tensor, Tensor>();
    let first: Tensor;
    if (!seed) {
      first = emptyLike(root);
      fill(first, 1);
    } else {
      first = sameShape(seed.shape, root.shape) ? seed : seed.reshape(root.shape);
    }
    grads.set(root, first);
    hold(first);
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (!t.gradFn) {
        if (t.grad && !t.grad.disposed && g.size === t.grad.size) {
          if (pending.length === ACCUMULATE_MANY || (pending.length && pending[0].dst.storage() !== t.grad.storage())) flush();
          pending.push({ dst: t.grad, src: g });
          continue;
        }
        accumulateLeaf(t, g, holders.get(g) === 1 && g !== seed);
        if (t.grad === g) holders.delete(g);
        else release(g);
        continue;
      }
      const fn = t.gradFn;
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
          if (gi !== g && !holders.has(gi)) gi.dispose();
          return;
        }
        if (gi.size !== input.size) {
          throw new EngineError(`backward of ${fn.op}: gradient ${formatShape(gi.shape)} for input ${formatShape(input.shape)} (engine bug)`);
        }
        hold(gi);
        const prev = grads.get(input);
        if (prev) {
          const sum = add(prev, gi);
          hold(sum);
          release(prev);
          release(gi);
          grads.set(input, sum);
        } else {
          grads.set(input, gi);
        }
      });
      release(g);
    }
    flush();
  } finally {
    gradEnabled = prevEnabled;
  }
}

function emptyLike(t: Tensor): Tensor {
  return (t.constructor as typeof Tensor).empty(t.device, t.shape);
}

/** Adds `g` into `leaf.grad`, taking `g` itself when nothing else holds it. */
function accumulateLeaf(leaf: Tensor, g: Tensor, owned: boolean): void {
  if (leaf.grad && !leaf.grad.disposed) {
    accumulate(leaf.grad, g);
    return;
  }
  let grad = g;
  if (!owned || g.byteOffset !== 0 || g.storage().refs > 1 || g.shape.length !== leaf.shape.length) {
    grad = emptyLike(leaf);
    fill(grad, 0);
    accumulate(grad, g);
  }
  leaf.grad = grad.keep();
  leaf.grad.name = leaf.name ? `${leaf.name}.grad` : '';
}
