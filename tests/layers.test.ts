// The engine's layering, checked on the source: who may import whom (README,
// "Layout"), the one allowed import loop, a host-free core, and the size rules
// (no source file over 600 lines). Pure file reading; no GPU.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const FOLDERS = ['engine', 'kernels', 'model', 'train', 'bench', 'tests', 'bin', 'web', 'scripts'];

function walk(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'results' ? [] : walk(path);
    return /\.(ts|mjs|wgsl)$/.test(e.name) ? [path] : [];
  });
}

const files = FOLDERS.flatMap(walk);
const sources = new Map(files.map((f) => [f, readFileSync(join(root, f), 'utf8')]));

/** Runtime imports of a module (type-only imports erase and cannot form a loop at run time). */
function importsOf(file: string): string[] {
  const src = sources.get(file)!;
  const specifiers: string[] = [];
  for (const m of src.matchAll(/^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gms)) {
    if (!m[1]) specifiers.push(m[2]);
  }
  return specifiers;
}

/** Relative imports resolved to repository paths, and bare ones (packages, node: modules) as they are. */
function resolved(file: string): { local: string[]; bare: string[] } {
  const local: string[] = [];
  const bare: string[] = [];
  for (const s of importsOf(file)) {
    if (s.startsWith('.')) local.push(normalize(join(dirname(file), s)));
    else bare.push(s);
  }
  return { local, bare };
}

const graph = new Map([...sources.keys()].filter((f) => !f.endsWith('.wgsl')).map((f) => [f, resolved(f).local.filter((d) => sources.has(d))]));

/** Strongly connected components with more than one file (Tarjan). */
function cycles(): string[][] {
  let index = 0;
  const stack: string[] = [];
  const on = new Set<string>();
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

test('the only import loop is tensor ↔ autograd', () => {
  assert.equal(cycles(), [['engine/autograd.ts', 'engine/tensor.ts']]);
});

/** Files of the core: what must run on any host. */
const core = [...graph.keys()].filter(
  (f) => /^(engine|kernels|model)\//.test(f) && !/^engine\/(node|browser)\//.test(f),
);

test('the core (engine/, kernels/, model/ outside the entry points and host folders) touches no host', () => {
  assert.ok(core.length > 40, `found ${core.length} core files`);
  const problems: string[] = [];
  for (const f of core) {
    for (const b of resolved(f).bare) problems.push(`${f} imports '${b}'`);
    const code = sources.get(f)!.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    for (const use of ['process.', 'Buffer.', 'setImmediate(', 'navigator.', 'require(', 'import(']) {
      if (new RegExp(`(^|[^\\w.])${use.replace(/[.(]/g, '\\$&')}`).test(code)) problems.push(`${f} uses ${use}`);
    }
  }
  assert.equal(problems, []);
});

test('each layer imports only downward', () => {
  const problems: string[] = [];
  for (const [f, deps] of graph) {
    for (const d of deps) {
      const into = (prefix: string) => d.startsWith(prefix);
      if (f.startsWith('kernels/') && /^engine\/(tensor|autograd|scope|ops|nn|optim|core|index|browser)/.test(d)) problems.push(`${f} → ${d}`);
      if (f.startsWith('model/') && into('engine/') && d !== 'engine/index.ts') problems.push(`${f} → ${d} (model/ uses engine/index.ts)`);
      if (f.startsWith('model/') && (into('kernels/') || into('train/') || into('bench/'))) problems.push(`${f} → ${d}`);
      if (/^(train|bench)\//.test(f) && (into('kernels/') || (into('engine/') && d !== 'engine/node/index.ts'))) problems.push(`${f} → ${d} (through engine/node/index.ts)`);
      if (/^(engine|kernels)\//.test(f) && (into('model/') || into('train/') || into('bench/'))) problems.push(`${f} → ${d}`);
      if (f.startsWith('engine/ops/') && /^engine\/(nn|optim|core|index)/.test(d)) problems.push(`${f} → ${d}`);
      // The page: the engine's browser entry, the model, the host-free plot; nothing of Node's.
      if (/^web\/.*\.ts$/.test(f) && !(d === 'engine/browser/index.ts' || into('model/') || d === 'train/plot.ts' || into('web/'))) problems.push(`${f} → ${d}`);
    }
  }
  assert.equal(problems, []);
});

test('no source file is over 600 lines', () => {
  const long = [...sources].filter(([f, s]) => !f.startsWith('tests/') || f.startsWith('tests/ref/')).filter(([, s]) => s.split('\n').length > 600);
  assert.equal(long.map(([f, s]) => `${f}: ${s.split('\n').length} lines`), []);
});

test('the page\'s modules touch no Node module', () => {
  const page = [...graph.keys()].filter((f) => /^web\/.*\.ts$/.test(f));
  assert.ok(page.length >= 3, `found ${page.length} page modules`);
  assert.equal(page.flatMap((f) => resolved(f).bare.map((b) => `${f} imports '${b}'`)), []);
});

test('the checks above can fail: a planted loop and a planted host import are found', () => {
  graph.set('engine/tensor.ts', [...graph.get('engine/tensor.ts')!, 'engine/ops/elementwise.ts']);
  assert.ok(cycles().some((c) => c.includes('engine/ops/elementwise.ts')));
  graph.set('engine/tensor.ts', graph.get('engine/tensor.ts')!.filter((d) => d !== 'engine/ops/elementwise.ts'));
  sources.set('engine/pool.ts', `import { readFileSync } from 'node:fs';\n${sources.get('engine/pool.ts')}`);
  assert.equal(resolved('engine/pool.ts').bare, ['node:fs']);
});

test.run();
