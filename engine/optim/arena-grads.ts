// The gradient adds of an optimizer whose `.grad` tensors are views of one
// arena buffer (Adam's): backward() hands each leaf gradient here, and up to
// ACCUMULATE_MANY of them are added into the arena in one dispatch instead of
// one dispatch each. A training step of LMFN has 176 of them.

import type { GradSink } from '../autograd.ts';
import type { Tensor } from '../tensor.ts';
import { ACCUMULATE_MANY, accumulateMany } from '../../kernels/elementwise.ts';

export class ArenaGrads implements GradSink {
  private pending: { dst: Tensor; src: Tensor }[] = [];
  private done: ((g: Tensor) => void) | null = null;

  /** @param arena the buffer every `.grad` of the optimizer's parameters views. */
  constructor(private readonly arena: () => Tensor) {}

  add(leaf: Tensor, g: Tensor, done: (g: Tensor) => void): boolean {
    const dst = leaf.grad;
    if (!dst || dst.disposed || dst.size !== g.size || dst.storage() !== this.arena().storage()) return false;
    if (this.pending.length === ACCUMULATE_MANY) this.flush();
    this.done = done;
    this.pending.push({ dst, src: g });
    return true;
  }

  flush(): void {
    accumulateMany(this.pending.map(({ dst, src }) => [dst, src] as const));
    for (const { src } of this.pending) this.done!(src);
    this.pending.length = 0;
  }
}
