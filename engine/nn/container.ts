// Containers that give children PyTorch's numeric names ("res2.0.conv1.weight").

import type { Device } from '../device.ts';
import { Module } from './module.ts';

export class ModuleList<M extends Module> extends Module implements Iterable<M> {
  readonly items: readonly M[];
  constructor(device: Device, items: M[]) {
    super(device);
    this.items = items.map((m, i) => this.module(String(i), m));
  }
  get length(): number {
    return this.items.length;
  }
  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}
