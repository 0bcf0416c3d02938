// The package as another project gets it: `npm pack` (which builds dist/),
// installed into a fresh project, imported from plain JavaScript with no tsx,
// type-checked from TypeScript, bundled for a browser, and its browser build
// run on a WebGPU that plays navigator.gpu. Each result is compared with the
// engine run from its sources here.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'lmfn-package-'));
const project = join(work, 'consumer');

// uvu sets FORCE_COLOR, under which console.log colours the numbers the examples print.
const { FORCE_COLOR: _, ...env } = process.env;

function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
  }
}

/** The README's engine example, exactly as a user would copy it. */
function readmeExample(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.indexOf('## Using the engine from another project');
  const start = readme.indexOf('```js\n', section) + 6;
  assert.ok(section >= 0 && start > section, 'README has the engine example');
  return readme.slice(start, readme.indexOf('```', start));
}

test.before(() => {
  run('npm', ['pack', '--pack-destination', work, '--silent'], root);
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack made a tarball');
  run('mkdir', ['-p', project], work);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', join(work, tarball!)], project);
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test('package.json names real files: every export and every module with side effects (the entry points install their host)', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const sources = (pkg.sideEffects as string[]).filter((p) => p.endsWith('.ts'));
  assert.equal(sources.filter((p) => !existsSync(join(root, p))), [], 'sideEffects entries that do not exist');
  assert.equal(sources.sort(), ['./engine/browser/index.ts', './engine/node/index.ts']);
  const targets = Object.values(pkg.exports as Record<string, string | Record<string, string>>).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t)));
  assert.equal(targets.filter((t) => !existsSync(join(root, t))), [], 'export targets missing after npm pack built dist/');
});

test('the README example runs from a plain .mjs file in a project that installed the packed package', () => {
  writeFileSync(join(project, 'main.mjs'), readmeExample());
  // Dawn's GL backend prints its own "Warning: …" lines on stdout; the example's are the rest.
  const printed = run('node', ['main.mjs'], project);
  const losses = printed.trim().split('\n').filter((l) => !l.startsWith('Warning:')).map(Number);
  assert.is(losses.length, 10, 'ten losses printed');
  assert.ok(losses.every(Number.isFinite), `finite losses, not:\n${printed}`);
  assert.ok(losses[9] < losses[0], `the loss falls: ${losses[0]} → ${losses[9]}`);
});

test('the package type-checks from TypeScript (declarations beside the compiled files)', () => {
  writeFileSync(
    join(project, 'typed.ts'),
    "import { init, ops, tensor, type Tensor } from 'lmfn-webgpu';\nconst d = await init();\nconst t: Tensor = ops.relu(tensor([1, -1], [2], { device: d }));\nexport const n: number = t.size;\n",
  );
  writeFileSync(join(project, 'wrong.ts'), "import { ops } from 'lmfn-webgpu';\nexport const s: string = ops.relu;\n");
  const tsconfig = (file: string) => JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: [] }, files: [file] });
  const tsc = join(root, 'node_modules/.bin/tsc');
  writeFileSync(join(project, 'tsconfig.json'), tsconfig('typed.ts'));
  run(tsc, ['-p', '.'], project);
  // And the check can fail: a wrong use of the API is caught through the same declarations.
  writeFileSync(join(project, 'tsconfig.json'), tsconfig('wrong.ts'));
  assert.throws(() => run(tsc, ['-p', '.'], project), /not assignable to type 'string'/);
});

test('a browser bundle of the package takes its browser build: no Node modules, no Dawn', () => {
  writeFileSync(join(project, 'app.mjs'), "import { init, ops } from 'lmfn-webgpu';\nexport { init, ops };\n");
  run(join(root, 'node_modules/.bin/esbuild'), ['app.mjs', '--bundle', '--format=esm', '--platform=browser', '--outfile=app.bundle.js', '--log-level=error'], project);
  const bundle = readFileSync(join(project, 'app.bundle.js'), 'utf8');
  assert.not.match(bundle, /from\s*["'](node:|webgpu["'])/);
  assert.match(bundle, /navigator/);
  assert.match(bundle, /fn forward3x3/, 'the WGSL is inlined');
});

// The same ops through the browser build (navigator.gpu played by Dawn's GL
// adapter) and through the Node build: the same kernels, so the same bits.
const workload = `
  const { tensor, ops } = engine;
  const device = await engine.init();
  const values = (n, seed) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 0.37));
  const x = tensor(values(2 * 5 * 9 * 11, 1), [2, 5, 9, 11], { requiresGrad: true });
  const w = tensor(values(7 * 5 * 3 * 3, 2), [7, 5, 3, 3], { requiresGrad: true });
  const y = ops.conv2d(x, w, null, { padding: 1, stride: 2, activation: 'relu' });
  const a = y.reshape([2, 7, -1]);
  const att = ops.softmax(ops.matmul(a, a, { transB: true }), { scale: 0.5 });
  const loss = ops.sum(ops.square(ops.matmul(att, a)));
  loss.backward();
  const out = { host: device.description.backend, loss: [...(await loss.read())], dx: [...(await x.grad.read())], dw: [...(await w.grad.read())] };
  console.log(JSON.stringify(out));
`;

test('the browser build on navigator.gpu computes what the Node build computes, bit for bit', () => {
  const shim = `
    import { create, globals } from 'webgpu';
    process.env.EGL_PLATFORM ??= 'surfaceless';
    Object.assign(globalThis, globals);
    const dawn = create(['backend=opengles']);
    globalThis.navigator = { gpu: { requestAdapter: (o) => dawn.requestAdapter({ ...o, featureLevel: 'compatibility' }) } };
    const engine = await import('lmfn-webgpu/browser');
    engine.browserOverrides.WGRAD_KERNELS = 'direct';
  `;
  writeFileSync(join(project, 'in-page.mjs'), shim + workload);
  writeFileSync(
    join(project, 'in-node.mjs'),
    "process.env.WGRAD_ADAPTER = 'gl'; process.env.WGRAD_KERNELS = 'direct';\nconst engine = await import('lmfn-webgpu');\n" + workload,
  );
  const last = (s: string) => JSON.parse(s.trim().split('\n').pop()!);
  const page = last(run('node', ['in-page.mjs'], project));
  const node = last(run('node', ['in-node.mjs'], project));
  assert.is(page.host, 'webgpu');
  assert.is(node.host, 'opengles');
  assert.is(page.dx.length, 2 * 5 * 9 * 11);
  assert.ok(page.loss[0] > 0 && Number.isFinite(page.loss[0]), `loss ${page.loss}`);
  assert.equal(page.loss, node.loss);
  assert.equal(page.dx, node.dx);
  assert.equal(page.dw, node.dw);
});

test.run();
