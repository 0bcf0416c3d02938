// Explicit, deterministic memory: JavaScript has no destructors and GC-driven
// reuse is far too late for GPU memory. `tidy(fn)` frees every tensor created
// inside `fn` except what `fn` returns (and tensors marked with `keep()`).

import { EngineError } from './errors.ts';

/** What a scope needs from a tensor; tensor.ts implements it. */
export interface Tracked {
  readonly disposed: boolean;
  kept: boolean;
  dispose(): void;
}

const scopes: Set<Tracked>[] = [];

export function track(t: Tracked): void {
  scopes[scopes.length - 1]?.add(t);
}

/** Removes `t` from the enclosing scope, so that scope will not free it. */
export function untrack(t: Tracked): void {
  for (const s of scopes) s.delete(t);
}

function collect(value: unknown, into: Set<Tracked>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 4) return;
  if ('dispose' in value && 'kept' in value) {
    into.add(value as Tracked);
    return;
  }
  const items = Array.isArray(value) ? value : value instanceof Map ? [...value.values()] : Object.values(value);
  for (const v of items) collect(v, into, depth + 1);
}

/**
 * Runs `fn` and disposes every tensor it created, except the tensors found in
 * its result (a tensor, or arrays/objects/Maps holding tensors) and kept ones.
 * Returned tensors move to the enclosing scope. `fn` must be synchronous:
 * a scope cannot follow an `await`.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tracked>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) if (!t.kept) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    throw new EngineError('tidy() takes a synchronous function; await outside it and tidy the synchronous parts');
  }
  const survivors = new Set<Tracked>();
  collect(result, survivors);
  for (const t of scope) {
    if (survivors.has(t) || t.kept) continue;
    t.dispose();
  }
  const parent = scopes[scopes.length - 1];
  if (parent) for (const t of survivors) if (scope.has(t)) parent.add(t);
  return result;
}
