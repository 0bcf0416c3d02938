// What a cold start costs, per pipeline: the compile of every pipeline one
// LMFN training step uses, on this device, with the driver's shader cache
// off. The step is recorded once (device.capture), then each pipeline's first
// dispatch is replayed alone twice: llvmpipe compiles at first dispatch (GL
// and lavapipe alike) and other drivers at creation, so a pipeline's cold cost
// is its creation time plus its first replay minus its second.
// `lmfn bench compile` runs it; the shader cache must be off before the
// driver loads (MESA_SHADER_CACHE_DISABLE, set by that command).

import type { Device, RecordedDispatch } from '../engine/node/index.ts';
import { trainStepFixture } from './model.ts';
import { replayDispatch } from './profile.ts';

export interface CompileRow {
  /** Kernel name, e.g. conv_vec4.forward3x3. */
  kernel: string;
  /** Its override constants and workgroup size, as the pipeline cache keys them. */
  variant: string;
  createMs: number;
  /** First dispatch alone minus the second: the compile done at first use. */
  firstUseMs: number;
  coldMs: number;
}

export interface CompileResult {
  batch: number;
  crop: number;
  pipelines: number;
  /** Wall clock of the whole measurement: every pipeline compiled once, the step run once. */
  totalMs: number;
  rows: CompileRow[];
}

export async function measureColdCompile(device: Device, batch: number, crop: number, onRow?: (r: CompileRow) => void): Promise<CompileResult> {
  const started = performance.now();
  const log: NonNullable<Device['pipelineLog']> = [];
  const captured: RecordedDispatch[] = [];
  device.pipelineLog = log;
  device.capture = captured;
  const fixture = trainStepFixture(device, batch, crop);
  let loss;
  try {
    loss = fixture.step();
  } finally {
    device.capture = null;
    device.pipelineLog = null;
  }
  const created = new Map(log.map((p) => [p.pipeline, p]));
  const seen = new Set<GPUComputePipeline>();
  const rows: CompileRow[] = [];
  for (const d of captured) {
    if (seen.has(d.pipeline)) continue;
    seen.add(d.pipeline);
    const cold = await replayDispatch(device, d);
    const warm = await replayDispatch(device, d);
    const entry = created.get(d.pipeline);
    const key = entry?.key ?? d.kernel;
    const createMs = entry?.createMs ?? 0;
    const firstUseMs = Math.max(0, cold - warm);
    const row = { kernel: d.kernel, variant: key.slice(key.indexOf('|') + 1), createMs, firstUseMs, coldMs: createMs + firstUseMs };
    rows.push(row);
    onRow?.(row);
  }
  await loss.read();
  loss.dispose();
  fixture.dispose();
  device.throwIfFailed();
  rows.sort((a, b) => b.coldMs - a.coldMs);
  return { batch, crop, pipelines: rows.length, totalMs: performance.now() - started, rows };
}

/** Per kernel: pipelines and their summed cold ms, costliest first. */
export function compileByKernel(rows: readonly CompileRow[]): { kernel: string; pipelines: number; coldMs: number; maxMs: number }[] {
  const by = new Map<string, { kernel: string; pipelines: number; coldMs: number; maxMs: number }>();
  for (const r of rows) {
    const k = by.get(r.kernel) ?? { kernel: r.kernel, pipelines: 0, coldMs: 0, maxMs: 0 };
    k.pipelines++;
    k.coldMs += r.coldMs;
    k.maxMs = Math.max(k.maxMs, r.coldMs);
    by.set(r.kernel, k);
  }
  return [...by.values()].sort((a, b) => b.coldMs - a.coldMs);
}

/** The markdown section `lmfn bench compile --write` keeps in RESULTS.md for one implementation and family. */
export function compileSection(adapter: Device['description'], family: string, result: CompileResult, date: string): string {
  const sum = result.rows.reduce((s, r) => s + r.coldMs, 0);
  const lines = [
    `### ${adapter.implementation} (Dawn ${adapter.backend}, ${adapter.featureLevel}), ${family} kernels`,
    '',
    `${adapter.description}. ${date}, \`lmfn bench compile --batch ${result.batch} --crop ${result.crop}\`: ` +
      `${result.pipelines} pipelines, ${(sum / 1000).toFixed(1)} s of compiling (cold ms: creation + first dispatch − second).`,
    '',
    '| kernel | override constants | workgroup | cold ms |',
    '|---|---|---|---|',
    ...result.rows.map((r) => {
      // A variant is "constants|workgroup"; a '|' inside a table cell would split it.
      const bar = r.variant.lastIndexOf('|');
      const constants = bar >= 0 ? r.variant.slice(0, bar) : r.variant;
      const workgroup = bar >= 0 ? r.variant.slice(bar + 1) : '';
      return `| ${r.kernel} | ${constants === '{}' ? '–' : `\`${constants}\``} | ${workgroup} | ${Math.round(r.coldMs)} |`;
    }),
  ];
  return lines.join('\n');
}

const marker = (slug: string, end = false) => `<!-- ${end ? '/' : ''}compile:${slug} -->`;

/** `markdown` with the section between `slug`'s markers replaced (or appended under "## Cold compile per pipeline"). */
export function updateCompileSection(markdown: string, slug: string, section: string): string {
  const block = `${marker(slug)}\n${section}\n${marker(slug, true)}`;
  const start = markdown.indexOf(marker(slug));
  const end = markdown.indexOf(marker(slug, true));
  if (start >= 0 && end > start) return markdown.slice(0, start) + block + markdown.slice(end + marker(slug, true).length);
  const heading = '## Cold compile per pipeline';
  const body = markdown.includes(heading) ? markdown : `${markdown.trimEnd()}\n\n${heading}\n\nWritten by \`lmfn bench compile --write\`, one table per implementation and kernel family.\n`;
  const at = body.indexOf(heading);
  const next = body.indexOf('\n## ', at + heading.length);
  const insertAt = next < 0 ? body.length : next;
  return `${body.slice(0, insertAt).trimEnd()}\n\n${block}\n${body.slice(insertAt)}`;
}
