// Pictures of a training run, made without any graphics library: a loss/PSNR
// plot as a self-contained SVG, and a side-by-side raster of image rows
// (blurred / deblurred / sharp) for train/image.ts's writeImage.

export interface PlotPoint {
  step: number;
  /** Training loss at this step; plotted on a log scale, so values ≤ 0 are skipped. */
  loss?: number;
  /** Validation PSNR of the model output, dB. */
  valPsnr?: number;
  /** Validation PSNR of the blurred input itself: the bar the model has to clear. */
  blurPsnr?: number;
}

const WIDTH = 840;
const HEIGHT = 460;
const MARGIN = { left: 78, right: 78, top: 66, bottom: 56 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;
const COLOURS = { loss: '#1f77b4', valPsnr: '#d62728', blurPsnr: '#7f7f7f', grid: '#e6e6e6', axis: '#333333' };

const finite = (v: number | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/** Tick values 1, 2 or 5 × 10^k apart covering [lo, hi], about `count` of them. */
function niceTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return ticks;
}

/** Widens [lo, hi] outward to tick multiples, so the data never touches a frame edge it cannot read off. */
function niceRange(lo: number, hi: number, count: number): [number, number] {
  if (hi === lo) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.05 : 1;
    return [lo - pad, hi + pad];
  }
  const ticks = niceTicks(lo, hi, count);
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : (hi - lo) / count;
  return [Math.floor(lo / step + 1e-9) * step, Math.ceil(hi / step - 1e-9) * step];
}

function formatNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) {
    const [m, e] = v.toExponential().split('e');
    const mant = Number(Number(m).toPrecision(3));
    return `${mant === 1 ? '' : `${mant}×`}10${superscript(Number(e))}`;
  }
  return String(Number(v.toPrecision(6)));
}

function formatStep(v: number): string {
  if (Math.abs(v) >= 1e6) return `${Number((v / 1e6).toPrecision(4))}M`;
  if (Math.abs(v) >= 1e4) return `${Number((v / 1e3).toPrecision(4))}k`;
  return String(Number(v.toPrecision(6)));
}

function superscript(n: number): string {
  const digits = '⁰¹²³⁴⁵⁶⁷⁸⁹';
  return (n < 0 ? '⁻' : '') + String(Math.abs(n)).split('').map((d) => digits[Number(d)]).join('');
}

const px = (v: number) => Number(v.toFixed(2));

/**
 * Loss and the model's lowest, mean and highest log-loss in every pixel column:
 * a long run has far more steps than the plot has columns, and a mean line with
 * its min–max band shows both the trend and the noise at any length.
 */
function lossColumns(points: { step: number; value: number }[], xOf: (s: number) => number): { x: number; mean: number; min: number; max: number }[] {
  const columns = new Map<number, { x: number; sum: number; n: number; min: number; max: number }>();
  for (const p of points) {
    const x = xOf(p.step);
    const key = points.length > PLOT_W ? Math.round(x) : columns.size;
    const l = Math.log10(p.value);
    const c = columns.get(key);
    if (c) {
      c.sum += l;
      c.n++;
      c.min = Math.min(c.min, l);
      c.max = Math.max(c.max, l);
    } else columns.set(key, { x: points.length > PLOT_W ? key : x, sum: l, n: 1, min: l, max: l });
  }
  return [...columns.values()].map((c) => ({ x: c.x, mean: c.sum / c.n, min: c.min, max: c.max }));
}

type Points = { step: number; value: number }[];

/** A vertical axis: where a value lands, and the ticks to draw for it. */
interface Axis {
  y: (v: number) => number;
  ticks: { y: number; label: string }[];
}

const LEFT = MARGIN.left;
const TOP = MARGIN.top;
const RIGHT = LEFT + PLOT_W;
const BOTTOM = TOP + PLOT_H;

/** The finite points of one series, in step order (loss also > 0, for its log scale). */
function pointsOf(series: PlotPoint[], key: 'loss' | 'valPsnr' | 'blurPsnr'): Points {
  const points = series.filter((p) => finite(p.step) && finite(p[key]) && (key !== 'loss' || p[key]! > 0));
  return points.map((p) => ({ step: p.step, value: p[key]! })).sort((a, b) => a.step - b.step);
}

/** Left axis: log10(loss), whole decades widened outward. */
function lossAxis(points: Points): Axis | undefined {
  if (!points.length) return undefined;
  const logs = points.map((p) => Math.log10(p.value));
  let d0 = Math.floor(Math.min(...logs));
  let d1 = Math.ceil(Math.max(...logs));
  if (d0 === d1) [d0, d1] = [d0 - 1, d1 + 1];
  const y = (l: number) => BOTTOM - ((l - d0) / (d1 - d0)) * PLOT_H;
  const decades = d1 - d0;
  // Few decades: label 2× and 5× too, so the axis is still readable.
  const mantissas = decades <= 2 ? [1, 2, 5] : [1];
  const every = Math.ceil(decades / 8);
  const ticks: Axis['ticks'] = [];
  for (let d = d0; d <= d1; d++) {
    if ((d - d0) % every) continue;
    for (const m of mantissas) {
      const l = d + Math.log10(m);
      if (l <= d1 + 1e-9) ticks.push({ y: y(l), label: formatNumber(m * 10 ** d) });
    }
  }
  return { y, ticks };
}

/** Right axis: PSNR in dB, over both PSNR series. */
function psnrAxis(dbs: number[]): Axis | undefined {
  if (!dbs.length) return undefined;
  const [lo, hi] = [Math.min(...dbs), Math.max(...dbs)];
  const pad = Math.max(0.05 * (hi - lo), 0.1);
  const [p0, p1] = niceRange(lo - pad, hi + pad, 6);
  const y = (v: number) => BOTTOM - ((v - p0) / (p1 - p0)) * PLOT_H;
  return { y, ticks: niceTicks(p0, p1, 6).map((t) => ({ y: y(t), label: formatNumber(t) })) };
}

const polyline = (points: string[], colour: string, attributes: string) =>
  `<polyline points="${points.join(' ')}" fill="none" stroke="${colour}" ${attributes}/>`;

/** The loss band and mean line; pushes a marker when there is a single column. */
function drawLoss(out: string[], markers: string[], points: Points, xOf: (s: number) => number, axis: Axis): void {
  const columns = lossColumns(points, xOf);
  if (columns.some((c) => c.max > c.min)) {
    const upper = columns.map((c) => `${px(c.x)},${px(axis.y(c.max))}`);
    const lower = columns.map((c) => `${px(c.x)},${px(axis.y(c.min))}`).reverse();
    out.push(`<polygon points="${[...upper, ...lower].join(' ')}" fill="${COLOURS.loss}" fill-opacity="0.18" stroke="none"/>`);
  }
  out.push(polyline(columns.map((c) => `${px(c.x)},${px(axis.y(c.mean))}`), COLOURS.loss, 'stroke-width="1.5" stroke-linejoin="round"'));
  if (columns.length === 1) markers.push(`<circle cx="${px(columns[0].x)}" cy="${px(axis.y(columns[0].mean))}" r="3" fill="${COLOURS.loss}"/>`);
}

/** The blurred input's PSNR (dashed) and the model's, with markers while they are few. */
function drawPsnr(out: string[], markers: string[], psnr: Points, blur: Points, xOf: (s: number) => number, axis: Axis, [s0, s1]: [number, number]): void {
  const coords = (points: Points) => points.map((p) => `${px(xOf(p.step))},${px(axis.y(p.value))}`);
  if (blur.length) {
    // One value means one reference: draw it across the whole run.
    const pts = blur.length === 1 ? [{ step: s0, value: blur[0].value }, { step: s1, value: blur[0].value }] : blur;
    out.push(polyline(coords(pts), COLOURS.blurPsnr, 'stroke-width="1.5" stroke-dasharray="6 4"'));
  }
  if (psnr.length) {
    out.push(polyline(coords(psnr), COLOURS.valPsnr, 'stroke-width="2" stroke-linejoin="round"'));
    if (psnr.length <= 60) for (const p of psnr) markers.push(`<circle cx="${px(xOf(p.step))}" cy="${px(axis.y(p.value))}" r="3" fill="${COLOURS.valPsnr}"/>`);
  }
}

/** Tick marks and labels on one side of the frame (`side` −1 left, +1 right), and the axis title. */
function drawAxis(out: string[], axis: Axis, side: -1 | 1, title: string, colour: string): void {
  const x = side < 0 ? LEFT : RIGHT;
  for (const t of axis.ticks) {
    out.push(
      `<line x1="${side < 0 ? x - 5 : x}" y1="${px(t.y)}" x2="${side < 0 ? x : x + 5}" y2="${px(t.y)}" stroke="${COLOURS.axis}"/>`,
      `<text x="${x + 8 * side}" y="${px(t.y + 4)}" text-anchor="${side < 0 ? 'end' : 'start'}">${t.label}</text>`,
    );
  }
  const [tx, rotate] = side < 0 ? [20, -90] : [WIDTH - 18, 90];
  out.push(`<text transform="translate(${tx} ${TOP + PLOT_H / 2}) rotate(${rotate})" text-anchor="middle" fill="${colour}">${title}</text>`);
}

/** Legend in one row between the title and the frame, where it can hide no data. */
function drawLegend(out: string[], entries: { label: string; colour: string; dash?: string }[]): void {
  const entryW = 170;
  let x = LEFT + PLOT_W / 2 - (entries.length * entryW) / 2;
  const y = TOP - 18;
  for (const e of entries) {
    out.push(
      `<line x1="${x}" y1="${y}" x2="${x + 26}" y2="${y}" stroke="${e.colour}" stroke-width="2"${e.dash ? ` stroke-dasharray="${e.dash}"` : ''}/>`,
      `<text x="${x + 34}" y="${y + 4}">${e.label}</text>`,
    );
    x += entryW;
  }
}

/**
 * An SVG (no scripts, no external fonts or files) of training loss on a log
 * scale (left axis) and validation PSNR (right axis) against step, with the
 * blurred input's PSNR as a dashed reference line.
 */
export function lossPlotSvg(series: PlotPoint[]): string {
  const [loss, psnr, blur] = (['loss', 'valPsnr', 'blurPsnr'] as const).map((key) => pointsOf(series, key));
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ` +
      `font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">Training loss and validation PSNR</text>`,
  ];
  const steps = [...loss, ...psnr, ...blur].map((p) => p.step);
  if (steps.length === 0) {
    out.push(`<text x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle" fill="#666666">no data yet</text>`, '</svg>');
    return out.join('\n') + '\n';
  }
  let [s0, s1] = [Math.min(...steps), Math.max(...steps)];
  if (s0 === s1) [s0, s1] = [s0 - 1, s1 + 1];
  const xOf = (s: number) => LEFT + ((s - s0) / (s1 - s0)) * PLOT_W;
  const lossY = lossAxis(loss);
  const psnrY = psnrAxis([...psnr, ...blur].map((p) => p.value));

  // Gridlines first, so the data draws over them; the loss axis's, else the PSNR axis's.
  const xTicks = niceTicks(s0, s1, 8);
  for (const t of xTicks) out.push(`<line x1="${px(xOf(t))}" y1="${TOP}" x2="${px(xOf(t))}" y2="${BOTTOM}" stroke="${COLOURS.grid}"/>`);
  for (const t of (lossY ?? psnrY)?.ticks ?? []) out.push(`<line x1="${LEFT}" y1="${px(t.y)}" x2="${RIGHT}" y2="${px(t.y)}" stroke="${COLOURS.grid}"/>`);

  // Data, clipped to the plot area. Markers sit inside the value ranges; left
  // unclipped, one on the frame edge still shows whole.
  const markers: string[] = [];
  out.push(`<defs><clipPath id="plot-area"><rect x="${LEFT}" y="${TOP}" width="${PLOT_W}" height="${PLOT_H}"/></clipPath></defs>`, `<g clip-path="url(#plot-area)">`);
  if (lossY) drawLoss(out, markers, loss, xOf, lossY);
  if (psnrY) drawPsnr(out, markers, psnr, blur, xOf, psnrY, [s0, s1]);
  out.push('</g>', ...markers);

  // Frame, ticks and labels.
  out.push(`<rect x="${LEFT}" y="${TOP}" width="${PLOT_W}" height="${PLOT_H}" fill="none" stroke="${COLOURS.axis}"/>`);
  for (const t of xTicks) {
    const x = px(xOf(t));
    out.push(`<line x1="${x}" y1="${BOTTOM}" x2="${x}" y2="${BOTTOM + 5}" stroke="${COLOURS.axis}"/>`, `<text x="${x}" y="${BOTTOM + 19}" text-anchor="middle">${formatStep(t)}</text>`);
  }
  out.push(`<text x="${LEFT + PLOT_W / 2}" y="${HEIGHT - 14}" text-anchor="middle">step</text>`);
  if (lossY) drawAxis(out, lossY, -1, 'training loss (MSE, log scale)', COLOURS.loss);
  if (psnrY) drawAxis(out, psnrY, 1, 'validation PSNR (dB)', COLOURS.valPsnr);

  drawLegend(out, [
    ...(lossY ? [{ label: 'training loss', colour: COLOURS.loss }] : []),
    ...(psnr.length ? [{ label: 'validation PSNR', colour: COLOURS.valPsnr }] : []),
    ...(blur.length ? [{ label: 'blurred input PSNR', colour: COLOURS.blurPsnr, dash: '6 4' }] : []),
  ]);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Side-by-side raster

export interface PlanarImage {
  /** Planar [3,H,W] in [0,1]. */
  rgb: Float32Array;
  h: number;
  w: number;
}

const GAP = 8;
const BACKGROUND = 1;

/**
 * The classic 5×7 font, one entry per character: five column bytes, bit 0 the top row.
 * Enough for labels like "blurred 25.1 dB"; other characters draw as '?'.
 */
const FONT: Record<string, number[]> = {
  ' ': [0x00, 0x00, 0x00, 0x00, 0x00], '!': [0x00, 0x00, 0x5f, 0x00, 0x00], '#': [0x14, 0x7f, 0x14, 0x7f, 0x14],
  '%': [0x23, 0x13, 0x08, 0x64, 0x62], "'": [0x00, 0x05, 0x03, 0x00, 0x00], '(': [0x00, 0x1c, 0x22, 0x41, 0x00],
  ')': [0x00, 0x41, 0x22, 0x1c, 0x00], '+': [0x08, 0x08, 0x3e, 0x08, 0x08], ',': [0x00, 0x50, 0x30, 0x00, 0x00],
  '-': [0x08, 0x08, 0x08, 0x08, 0x08], '.': [0x00, 0x60, 0x60, 0x00, 0x00], '/': [0x20, 0x10, 0x08, 0x04, 0x02],
  '0': [0x3e, 0x51, 0x49, 0x45, 0x3e], '1': [0x00, 0x42, 0x7f, 0x40, 0x00], '2': [0x42, 0x61, 0x51, 0x49, 0x46],
  '3': [0x21, 0x41, 0x45, 0x4b, 0x31], '4': [0x18, 0x14, 0x12, 0x7f, 0x10], '5': [0x27, 0x45, 0x45, 0x45, 0x39],
  '6': [0x3c, 0x4a, 0x49, 0x49, 0x30], '7': [0x01, 0x71, 0x09, 0x05, 0x03], '8': [0x36, 0x49, 0x49, 0x49, 0x36],
  '9': [0x06, 0x49, 0x49, 0x29, 0x1e], ':': [0x00, 0x36, 0x36, 0x00, 0x00], '=': [0x14, 0x14, 0x14, 0x14, 0x14],
  '?': [0x02, 0x01, 0x51, 0x09, 0x06], '_': [0x40, 0x40, 0x40, 0x40, 0x40], '×': [0x22, 0x14, 0x08, 0x14, 0x22],
  A: [0x7e, 0x11, 0x11, 0x11, 0x7e], B: [0x7f, 0x49, 0x49, 0x49, 0x36], C: [0x3e, 0x41, 0x41, 0x41, 0x22],
  D: [0x7f, 0x41, 0x41, 0x22, 0x1c], E: [0x7f, 0x49, 0x49, 0x49, 0x41], F: [0x7f, 0x09, 0x09, 0x01, 0x01],
  G: [0x3e, 0x41, 0x41, 0x51, 0x32], H: [0x7f, 0x08, 0x08, 0x08, 0x7f], I: [0x00, 0x41, 0x7f, 0x41, 0x00],
  J: [0x20, 0x40, 0x41, 0x3f, 0x01], K: [0x7f, 0x08, 0x14, 0x22, 0x41], L: [0x7f, 0x40, 0x40, 0x40, 0x40],
  M: [0x7f, 0x02, 0x04, 0x02, 0x7f], N: [0x7f, 0x04, 0x08, 0x10, 0x7f], O: [0x3e, 0x41, 0x41, 0x41, 0x3e],
  P: [0x7f, 0x09, 0x09, 0x09, 0x06], Q: [0x3e, 0x41, 0x51, 0x21, 0x5e], R: [0x7f, 0x09, 0x19, 0x29, 0x46],
  S: [0x46, 0x49, 0x49, 0x49, 0x31], T: [0x01, 0x01, 0x7f, 0x01, 0x01], U: [0x3f, 0x40, 0x40, 0x40, 0x3f],
  V: [0x1f, 0x20, 0x40, 0x20, 0x1f], W: [0x7f, 0x20, 0x18, 0x20, 0x7f], X: [0x63, 0x14, 0x08, 0x14, 0x63],
  Y: [0x03, 0x04, 0x78, 0x04, 0x03], Z: [0x61, 0x51, 0x49, 0x45, 0x43],
  a: [0x20, 0x54, 0x54, 0x54, 0x78], b: [0x7f, 0x48, 0x44, 0x44, 0x38], c: [0x38, 0x44, 0x44, 0x44, 0x20],
  d: [0x38, 0x44, 0x44, 0x48, 0x7f], e: [0x38, 0x54, 0x54, 0x54, 0x18], f: [0x08, 0x7e, 0x09, 0x01, 0x02],
  g: [0x0c, 0x52, 0x52, 0x52, 0x3e], h: [0x7f, 0x08, 0x04, 0x04, 0x78], i: [0x00, 0x44, 0x7d, 0x40, 0x00],
  j: [0x20, 0x40, 0x44, 0x3d, 0x00], k: [0x7f, 0x10, 0x28, 0x44, 0x00], l: [0x00, 0x41, 0x7f, 0x40, 0x00],
  m: [0x7c, 0x04, 0x18, 0x04, 0x78], n: [0x7c, 0x08, 0x04, 0x04, 0x78], o: [0x38, 0x44, 0x44, 0x44, 0x38],
  p: [0x7c, 0x14, 0x14, 0x14, 0x08], q: [0x08, 0x14, 0x14, 0x18, 0x7c], r: [0x7c, 0x08, 0x04, 0x04, 0x08],
  s: [0x48, 0x54, 0x54, 0x54, 0x20], t: [0x04, 0x3f, 0x44, 0x40, 0x20], u: [0x3c, 0x40, 0x40, 0x20, 0x7c],
  v: [0x1c, 0x20, 0x40, 0x20, 0x1c], w: [0x3c, 0x40, 0x30, 0x40, 0x3c], x: [0x44, 0x28, 0x10, 0x28, 0x44],
  y: [0x0c, 0x50, 0x50, 0x50, 0x3c], z: [0x44, 0x64, 0x54, 0x4c, 0x44],
};
const GLYPH_W = 5;
const GLYPH_H = 7;

/** Draws `text` in black, `scale` pixels per font dot, clipped to `maxWidth`, top-left at (x0, y0). */
function drawText(rgb: Float32Array, H: number, W: number, text: string, x0: number, y0: number, scale: number, maxWidth: number): void {
  let x = x0;
  for (const ch of text) {
    const glyph = FONT[ch] ?? FONT['?'];
    for (let col = 0; col < GLYPH_W; col++) {
      for (let row = 0; row < GLYPH_H; row++) {
        if (!((glyph[col] >> row) & 1)) continue;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const px = x + col * scale + dx;
            const py = y0 + row * scale + dy;
            if (px >= x0 + maxWidth || px >= W || py >= H) continue;
            for (let c = 0; c < 3; c++) rgb[(c * H + py) * W + px] = 0;
          }
        }
      }
    }
    x += (GLYPH_W + 1) * scale;
    if (x >= x0 + maxWidth) break;
  }
}

/**
 * Composes rows of images (e.g. [blurred, deblurred, sharp] per sample) into
 * one planar RGB image on a white background, with an 8-pixel gap between
 * cells. Columns take the widest image in them and rows the tallest; smaller
 * images sit at their cell's top left. Values are copied clamped to [0,1].
 * `labels` (one per column, or none) are drawn above the first row.
 */
export function sideBySide(images: PlanarImage[][], labels: string[] = []): PlanarImage {
  if (images.length === 0 || images.some((row) => row.length === 0)) throw new RangeError('sideBySide: needs at least one image in every row');
  for (const [r, row] of images.entries()) {
    for (const [c, im] of row.entries()) {
      if (!(im.h >= 1 && im.w >= 1) || im.rgb.length !== 3 * im.h * im.w) {
        throw new RangeError(`sideBySide: image [${r}][${c}] is ${im.h}×${im.w} but holds ${im.rgb.length} values, expected ${3 * im.h * im.w}`);
      }
    }
  }
  const columns = Math.max(...images.map((row) => row.length));
  if (labels.length > columns) throw new RangeError(`sideBySide: ${labels.length} labels for ${columns} columns`);
  const colW = Array.from({ length: columns }, (_, c) => Math.max(...images.map((row) => row[c]?.w ?? 0)));
  const rowH = images.map((row) => Math.max(...row.map((im) => im.h)));
  // Labels grow with the images, so they stay legible on 720p frames.
  const scale = Math.max(1, Math.min(4, Math.floor(Math.min(...colW) / 160)));
  const labelH = labels.some((l) => l.length) ? GLYPH_H * scale + 2 * GAP : 0;
  const W = colW.reduce((s, w) => s + w, 0) + GAP * (columns + 1);
  const H = labelH + rowH.reduce((s, h) => s + h, 0) + GAP * (images.length + 1) - (labelH ? GAP : 0);
  const rgb = new Float32Array(3 * H * W).fill(BACKGROUND);

  const colX = colW.map((_, c) => GAP + colW.slice(0, c).reduce((s, w) => s + w, 0) + c * GAP);
  labels.forEach((label, c) => drawText(rgb, H, W, label, colX[c], GAP, scale, colW[c]));
  let y = labelH ? labelH : GAP;
  for (const [r, row] of images.entries()) {
    for (const [c, im] of row.entries()) {
      for (let ch = 0; ch < 3; ch++) {
        for (let iy = 0; iy < im.h; iy++) {
          const src = (ch * im.h + iy) * im.w;
          const dst = (ch * H + y + iy) * W + colX[c];
          for (let ix = 0; ix < im.w; ix++) {
            const v = im.rgb[src + ix];
            rgb[dst + ix] = v < 0 ? 0 : v > 1 ? 1 : v;
          }
        }
      }
    }
    y += rowH[r] + GAP;
  }
  return { rgb, h: H, w: W };
}
