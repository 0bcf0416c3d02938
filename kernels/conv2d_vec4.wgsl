// Convolutions on vec4 rows and packed weights, the fast paths of conv2d:
// 3×3 with padding 1 and stride 1 or 2 on rows whose widths are multiples
// of 4, and 1×1 (stride 1, no padding) on planes whose size H·W is a
// multiple of 4 — every conv of LMFN but ESA's small-map ones. Forward,
// input gradient and weight gradient (with the bias gradient fused in); see
// convVec4Applies in conv2d_vec4.ts. Everything else runs through conv2d.wgsl.
//
// Why a second conv family: on llvmpipe a storage-buffer load costs one
// bounds-checked scalar load per lane, as much as dozens of multiply-adds,
// and a vec4 load costs hardly more than a scalar one; and a variable
// carried around a loop costs a masked store per write. conv2d.wgsl loads
// every input pixel once per tap and every weight as a scalar. Here:
// - an input row is read as a window of aligned vec4s, once per kernel row;
//   the three taps' pixels are picked out of it by swizzles (free: each
//   component is its own register per lane);
// - the weights are first repacked (pack_weights, a tiny dispatch) so that
//   the weights of 8 consecutive output channels for one (channel, tap) are
//   two aligned vec4s;
// - blocks are large (8 rows × 8 pixels × 8 channels in the 3×3 forward) and
//   every accumulator takes several products per write.
// That is ~4× fewer loads per multiply-add than conv2d.wgsl; the vec4
// accumulators stay named struct members (Mesa keeps indexed arrays in
// memory; struct members become registers).
//
// Layouts: x, y, dy NCHW; packed weights [K][taps][G] with G the packed
// channel count rounded up to 8 (zeros past the real channels) and K the
// other channel axis: forward packs w[o,c,tap] at [c][tap][o]; input_grad
// packs w[o,c,taps−1−tap] at [o][tap][c] (the kernel flipped), which makes the
// stride-1 input gradient the forward kernel run on dy.
//
// Edges: vec4 groups of a window outside the row, and rows outside the image,
// read index 0 and are masked to 0 (the zero padding); channels past the last
// compute on clamped indices and are not stored, nor are pixels past the row.

// Compiling these kernels is what costs on llvmpipe (seconds per pipeline,
// cold), so they are specialised only where the code's shape differs: STRIDE
// and INPUT_GRAD. The epilogue and the bias are uniforms (Params), and the
// weight-gradient block is fixed at OQ × CB (smaller layers run masked lanes).
// Stride on both axes: 1 or 2.
override STRIDE: u32 = 1u;
// forward: end the epilogue with a sigmoid. A constant, not a uniform: its
// exp, inlined into every store, cost more compile time than a second
// pipeline for the one LMFN layer that uses it (ESA's 1×1 mask).
override SIGMOID: bool = false;
// pack_weights: the input-gradient packing ([o][tap][c], kernel flipped).
override INPUT_GRAD: bool = false;
// weight_grad: output-channel quads and (3×3) input channels per invocation.
const OQ: u32 = 4u;
const CB: u32 = 2u;

struct Params {
  batch: u32,
  in_channels: u32,
  in_h: u32,
  in_w: u32,
  out_channels: u32,
  out_h: u32,
  out_w: u32,
  // Packed channel count G (a multiple of 8).
  packed: u32,
  // Number of live invocations (the dispatch is rounded up to whole workgroups).
  invocations: u32,
  // Channel blocks (weight_grad: output-channel blocks), row blocks, and
  // pixel blocks per row (weight_grad: input-channel blocks).
  blocks_c: u32,
  blocks_h: u32,
  blocks_w: u32,
  // weight_grad: slices of the reduction (3×3: the N·Ho output rows; 1×1: the
  // pairs of pixel groups), and rows (pairs) per slice.
  splits: u32,
  rows_per_split: u32,
  // sum_splits: weight-gradient elements O·C·taps (bias gradient elements follow).
  weights: u32,
  // pack_weights: kernel taps kH·kW (9 or 1).
  taps: u32,
  // forward: add the bias binding, then the residual binding, then the activation
  // (epilogue.wgsl's activate4_flat). weight_grad: also sum dy into the bias gradient.
  has_bias: u32,
  has_residual: u32,
  slope: f32,
  _pad: u32,
}

// 8 channels × 4 pixels (weight_grad1x1: 8 input channels × an output-channel quad).
struct Acc8 { c0: vec4f, c1: vec4f, c2: vec4f, c3: vec4f, c4: vec4f, c5: vec4f, c6: vec4f, c7: vec4f }
// Consecutive aligned vec4 groups of one row; v4 only with stride 2.
struct Window { v0: vec4f, v1: vec4f, v2: vec4f, v3: vec4f, v4: vec4f }
// The pixels each tap kx of one kernel row reads for output pixels 0..3 (a*) and 4..7 (b*).
struct Shifted { a0: vec4f, a1: vec4f, a2: vec4f, b0: vec4f, b1: vec4f, b2: vec4f }
// Weights of one kernel row (taps kx = 0, 1, 2) for 8 channels: lo = channels 0..3, hi = 4..7.
struct Taps { t0lo: vec4f, t0hi: vec4f, t1lo: vec4f, t1hi: vec4f, t2lo: vec4f, t2hi: vec4f }

fn mac8(a: ptr<function, Acc8>, lo: vec4f, hi: vec4f, xv: vec4f) {
  (*a).c0 = fma(vec4f(lo.x), xv, (*a).c0);
  (*a).c1 = fma(vec4f(lo.y), xv, (*a).c1);
  (*a).c2 = fma(vec4f(lo.z), xv, (*a).c2);
  (*a).c3 = fma(vec4f(lo.w), xv, (*a).c3);
  (*a).c4 = fma(vec4f(hi.x), xv, (*a).c4);
  (*a).c5 = fma(vec4f(hi.y), xv, (*a).c5);
  (*a).c6 = fma(vec4f(hi.z), xv, (*a).c6);
  (*a).c7 = fma(vec4f(hi.w), xv, (*a).c7);
}

// Window element e of pixel j and tap kx: e = STRIDE·j + kx + 3 (the window
// starts 4 elements, one vec4, left of the block's first input pixel minus the padding of 1).
fn shifted(w: Window) -> Shifted {
  var s: Shifted;
  if (STRIDE == 1u) {
    s.a0 = vec4f(w.v0.w, w.v1.xyz);
    s.a1 = w.v1;
    s.a2 = vec4f(w.v1.yzw, w.v2.x);
    s.b0 = vec4f(w.v1.w, w.v2.xyz);
    s.b1 = w.v2;
    s.b2 = vec4f(w.v2.yzw, w.v3.x);
  } else {
    s.a0 = vec4f(w.v0.w, w.v1.y, w.v1.w, w.v2.y);
    s.a1 = vec4f(w.v1.x, w.v1.z, w.v2.x, w.v2.z);
    s.a2 = vec4f(w.v1.y, w.v1.w, w.v2.y, w.v2.w);
    s.b0 = vec4f(w.v2.w, w.v3.y, w.v3.w, w.v4.y);
    s.b1 = vec4f(w.v3.x, w.v3.z, w.v4.x, w.v4.z);
    s.b2 = vec4f(w.v3.y, w.v3.w, w.v4.y, w.v4.w);
  }
  return s;
}

// ---- pack_weights ----------------------------------------------------------
// forward: packed[(c·T + tap)·G + o] = w[o,c,tap];
// input_grad: packed[(o·T + tap)·G + c] = w[o,c,T−1−tap], T = taps.
// Invocation r = k·T + tap writes packed row r (G values, as vec4s): one
// division per row rather than three per element.

@group(0) @binding(0) var<storage, read> pk_w: array<f32>;
@group(0) @binding(1) var<storage, read_write> pk_out: array<vec4f>;
@group(0) @binding(2) var<uniform> pkp: Params;

fn packed_value(k: u32, tap: u32, g: u32) -> f32 {
  if (INPUT_GRAD) {
    if (g >= pkp.in_channels) { return 0.0; }
    return pk_w[(k * pkp.in_channels + g) * pkp.taps + pkp.taps - 1u - tap];
  }
  if (g >= pkp.out_channels) { return 0.0; }
  return pk_w[(g * pkp.in_channels + k) * pkp.taps + tap];
}

@compute @workgroup_size(WG_X)
fn pack_weights(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = linear_index(lid, wid, nwg);
  if (r >= pkp.invocations) { return; }
  let tap = r % pkp.taps;
  let k = r / pkp.taps;
  let groups = pkp.packed / 4u;
  for (var q = 0u; q < groups; q++) {
    let g = 4u * q;
    pk_out[r * groups + q] = vec4f(packed_value(k, tap, g), packed_value(k, tap, g + 1u), packed_value(k, tap, g + 2u), packed_value(k, tap, g + 3u));
  }
}

// ---- forward3x3: y = conv(x, w) + b (and the stride-1 input gradient) -------
// Invocation t = ((n·blocks_c + ob)·blocks_h + hb)·blocks_w + wb owns output
// channels 8·ob.. of the 4 rows 4·hb.. and pixels 8·wb..8·wb+7. Per input
// channel it loads the 3 kernel rows' weights (18 vec4) and the windows of the
// 6 (stride 2: 9) input rows the output rows read, each once, for 576 vec4
// multiply-adds. On llvmpipe 8 rows ran ~10% faster than 4 at stride 1 (the
// same at stride 2), but compiled 3× slower (5 s against 1.7 s per pipeline,
// cold, Mesa 22; 4× that on Mesa 25): 4 rows, for a first step within seconds.

// The conv input, at binding 0 of every entry point below that reads it as
// vec4 rows (forward3x3 also reads dy through it: the stride-1 input gradient).
@group(0) @binding(0) var<storage, read> cv_x: array<vec4f>;
@group(0) @binding(1) var<storage, read> fw_w: array<vec4f>;
@group(0) @binding(2) var<storage, read> fw_bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> fw_y: array<vec4f>;
@group(0) @binding(4) var<storage, read> fw_residual: array<vec4f>;
@group(0) @binding(5) var<uniform> fp: Params;

// The window of input row hi (of the channel plane starting at vec4 `plane`, in_h × in_w) for a block starting at vec4 `start`.
fn input_window(plane: u32, hi: i32, start: i32, in_h: u32, in_w: u32) -> Window {
  let row_ok = hi >= 0 && hi < i32(in_h);
  let width = i32(in_w / 4u);
  let row = plane + u32(select(0, hi, row_ok)) * u32(width);
  var w: Window;
  let ok0 = row_ok && start >= 0 && start < width;
  let ok1 = row_ok && start + 1 >= 0 && start + 1 < width;
  let ok2 = row_ok && start + 2 < width;
  let ok3 = row_ok && start + 3 < width;
  w.v0 = select(vec4f(0.0), cv_x[row + u32(select(0, start, ok0))], ok0);
  w.v1 = select(vec4f(0.0), cv_x[row + u32(select(0, start + 1, ok1))], ok1);
  w.v2 = select(vec4f(0.0), cv_x[row + u32(select(0, start + 2, ok2))], ok2);
  w.v3 = select(vec4f(0.0), cv_x[row + u32(select(0, start + 3, ok3))], ok3);
  if (STRIDE == 2u) {
    let ok4 = row_ok && start + 4 < width;
    w.v4 = select(vec4f(0.0), cv_x[row + u32(select(0, start + 4, ok4))], ok4);
  }
  return w;
}

// Packed weights of kernel row ky of channel c for the 8 channels of vec4 groups g0, g0 + 1.
fn forward_taps(c: u32, ky: u32, g0: u32, groups: u32) -> Taps {
  let base = (c * 9u + ky * 3u) * groups + g0;
  return Taps(fw_w[base], fw_w[base + 1u], fw_w[base + groups], fw_w[base + groups + 1u], fw_w[base + 2u * groups], fw_w[base + 2u * groups + 1u]);
}

fn forward_row(a: ptr<function, Acc8>, b: ptr<function, Acc8>, s: Shifted, t: Taps) {
  mac8(a, t.t0lo, t.t0hi, s.a0);
  mac8(a, t.t1lo, t.t1hi, s.a1);
  mac8(a, t.t2lo, t.t2hi, s.a2);
  mac8(b, t.t0lo, t.t0hi, s.b0);
  mac8(b, t.t1lo, t.t1hi, s.b1);
  mac8(b, t.t2lo, t.t2hi, s.b2);
}

// Rows are whole vec4s (out_w % 4 = 0, blocks start at multiples of 8), so
// each channel's 4 pixels are stored as one vec4 with the epilogue applied
// once. 8 such stores are inlined per invocation, and what they hold is code
// the compiler sees 8 times: the epilogue is branch-free (the bias and the
// residual are always read, and selected). On Mesa 25's lavapipe, cold, this
// kernel compiled in 24.5 s with a switch on the activation, 17.5 s with
// this epilogue and the sigmoid's exp, 11.5 s without the exp (SIGMOID).
// Bound to other buffers when absent, so always readable (at most clamped by robustness), and selected away.
fn epilogue(acc: vec4f, o: u32, at: u32) -> vec4f {
  let b = select(0.0, fw_bias[o], fp.has_bias != 0u);
  let r = select(vec4f(0.0), fw_residual[at], fp.has_residual != 0u);
  return activate4_flat(acc + b + r, fp.slope, SIGMOID);
}

fn forward_store(acc: Acc8, n: u32, o0: u32, ho: u32, wo0: u32) {
  if (ho >= fp.out_h || wo0 >= fp.out_w) { return; }
  let lanes = array<vec4f, 8>(acc.c0, acc.c1, acc.c2, acc.c3, acc.c4, acc.c5, acc.c6, acc.c7);
  let plane = fp.out_h * fp.out_w / 4u;
  let pixel = (ho * fp.out_w + wo0) / 4u;
  for (var k = 0u; k < 8u; k++) {
    let o = o0 + k;
    if (o >= fp.out_channels) { return; }
    let at = (n * fp.out_channels + o) * plane + pixel;
    fw_y[at] = epilogue(lanes[k], o, at);
  }
}

@compute @workgroup_size(WG_X)
fn forward3x3(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = linear_index(lid, wid, nwg);
  if (t >= fp.invocations) { return; }
  let wb = t % fp.blocks_w;
  var rest = t / fp.blocks_w;
  let hb = rest % fp.blocks_h;
  rest = rest / fp.blocks_h;
  let ob = rest % fp.blocks_c;
  let n = rest / fp.blocks_c;
  let ho0 = hb * 4u;
  let wo0 = wb * 8u;
  let groups = fp.packed / 4u;
  let g0 = 2u * ob;
  let plane = fp.in_h * fp.in_w / 4u;
  let start = i32(STRIDE * wo0 / 4u) - 1;

  var a0: Acc8; var b0: Acc8; var a1: Acc8; var b1: Acc8; var a2: Acc8; var b2: Acc8; var a3: Acc8; var b3: Acc8;
  for (var c = 0u; c < fp.in_channels; c++) {
    let x_plane = (n * fp.in_channels + c) * plane;
    let k0 = forward_taps(c, 0u, g0, groups);
    let k1 = forward_taps(c, 1u, g0, groups);
    let k2 = forward_taps(c, 2u, g0, groups);
    // Output row r reads window STRIDE·r + ky (input row STRIDE·(ho0 + r) + ky − 1) with kernel row ky.
    let hi = i32(ho0 * STRIDE) - 1;
    let w0 = shifted(input_window(x_plane, hi + 0, start, fp.in_h, fp.in_w));
    let w1 = shifted(input_window(x_plane, hi + 1, start, fp.in_h, fp.in_w));
    let w2 = shifted(input_window(x_plane, hi + 2, start, fp.in_h, fp.in_w));
    let w3 = shifted(input_window(x_plane, hi + 3, start, fp.in_h, fp.in_w));
    let w4 = shifted(input_window(x_plane, hi + 4, start, fp.in_h, fp.in_w));
    let w5 = shifted(input_window(x_plane, hi + 5, start, fp.in_h, fp.in_w));
    if (STRIDE == 1u) {
      forward_row(&a0, &b0, w0, k0); forward_row(&a0, &b0, w1, k1); forward_row(&a0, &b0, w2, k2);
      forward_row(&a1, &b1, w1, k0); forward_row(&a1, &b1, w2, k1); forward_row(&a1, &b1, w3, k2);
      forward_row(&a2, &b2, w2, k0); forward_row(&a2, &b2, w3, k1); forward_row(&a2, &b2, w4, k2);
      forward_row(&a3, &b3, w3, k0); forward_row(&a3, &b3, w4, k1); forward_row(&a3, &b3, w5, k2);
    } else {
      let w6 = shifted(input_window(x_plane, hi + 6, start, fp.in_h, fp.in_w));
      let w7 = shifted(input_window(x_plane, hi + 7, start, fp.in_h, fp.in_w));
      let w8 = shifted(input_window(x_plane, hi + 8, start, fp.in_h, fp.in_w));
      forward_row(&a0, &b0, w0, k0); forward_row(&a0, &b0, w1, k1); forward_row(&a0, &b0, w2, k2);
      forward_row(&a1, &b1, w2, k0); forward_row(&a1, &b1, w3, k1); forward_row(&a1, &b1, w4, k2);
      forward_row(&a2, &b2, w4, k0); forward_row(&a2, &b2, w5, k1); forward_row(&a2, &b2, w6, k2);
      forward_row(&a3, &b3, w6, k0); forward_row(&a3, &b3, w7, k1); forward_row(&a3, &b3, w8, k2);
    }
  }
  let o0 = 8u * ob;
  forward_store(a0, n, o0, ho0 + 0u, wo0);
  forward_store(b0, n, o0, ho0 + 0u, wo0 + 4u);
  forward_store(a1, n, o0, ho0 + 1u, wo0);
  forward_store(b1, n, o0, ho0 + 1u, wo0 + 4u);
  forward_store(a2, n, o0, ho0 + 2u, wo0);
  forward_store(b2, n, o0, ho0 + 2u, wo0 + 4u);
  forward_store(a3, n, o0, ho0 + 3u, wo0);
  forward_store(b3, n, o0, ho0 + 3u, wo0 + 4u);
}

// ---- input_grad3x3_s2: dx for stride 2 ----------------------------------------
// dx[h, w] = Σ dy[ho, wo]·w[ky, kx] over h = 2·ho + ky − 1, w = 2·wo + kx − 1.
// Invocation t = ((n·blocks_c + cb)·blocks_h + hb)·blocks_w + wb owns input
// channels 8·cb.., the 8 rows 8·hb.. and pixels w0 = 8·wb..+7. Even rows
// 8·hb + 2j take kernel row 1 from dy row 4·hb + j; odd rows 8·hb + 2j + 1
// take kernel row 2 from dy row 4·hb + j and row 0 from dy row 4·hb + j + 1.
// Along a row, even pixels w0 + 2m take kx = 1 (dy pixel 4·wb + m) and odd
// pixels w0 + 2m + 1 take kx = 0 (dy pixel 4·wb + m + 1) and kx = 2 (4·wb + m),
// kept as separate accumulators so that every lane of every multiply-add is a
// real term. Per output channel: 18 weight and 10 dy vec4 loads for 240 vec4
// multiply-adds (8 rows measured ~1.25× faster than 4: the weights dominate). Requires out_w % 4 = 0 (then in_w is 2·out_w or one less).
// Weights: the input_grad packing (flipped), so tap (ky, kx) sits at 8 − 3·ky − kx.

@group(0) @binding(0) var<storage, read> ig_dy: array<vec4f>;
@group(0) @binding(1) var<storage, read> ig_w: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> ig_dx: array<f32>;
@group(0) @binding(3) var<uniform> igp: Params;

// dy pixels 4·wb..4·wb+3 (u1) and the next group (u2) of dy row ho, or zeros outside dy.
fn dy_pair(plane: u32, ho: u32, wb: u32) -> array<vec4f, 2> {
  let width = igp.out_w / 4u;
  let row_ok = ho < igp.out_h;
  let row = plane + select(0u, ho, row_ok) * width;
  let ok2 = row_ok && wb + 1u < width;
  return array<vec4f, 2>(
    select(vec4f(0.0), ig_dy[row + select(0u, wb, row_ok)], row_ok),
    select(vec4f(0.0), ig_dy[row + select(0u, wb + 1u, ok2)], ok2),
  );
}

// Kernel row ky of output channel o for the 8 input channels of vec4 groups cg, cg + 1 (taps kx = 0, 1, 2).
fn input_grad_taps(o: u32, ky: u32, cg: u32) -> Taps {
  let groups = igp.packed / 4u;
  let tap0 = (o * 9u + 8u - 3u * ky) * groups + cg;
  return Taps(ig_w[tap0], ig_w[tap0 + 1u], ig_w[tap0 - groups], ig_w[tap0 - groups + 1u], ig_w[tap0 - 2u * groups], ig_w[tap0 - 2u * groups + 1u]);
}

// One dy row against one kernel row: even pixels get kx = 1, odd pixels kx = 0 and 2.
fn input_grad_row(even: ptr<function, Acc8>, odd: ptr<function, Acc8>, k: Taps, u: array<vec4f, 2>) {
  let u1 = u[0];
  mac8(even, k.t1lo, k.t1hi, u1);
  mac8(odd, k.t0lo, k.t0hi, vec4f(u1.yzw, u[1].x));
  mac8(odd, k.t2lo, k.t2hi, u1);
}

fn input_grad_store(acc: Acc8, n: u32, c0: u32, h: u32, first: u32) {
  if (h >= igp.in_h) { return; }
  let lanes = array<vec4f, 8>(acc.c0, acc.c1, acc.c2, acc.c3, acc.c4, acc.c5, acc.c6, acc.c7);
  let plane = igp.in_h * igp.in_w;
  for (var k = 0u; k < 8u; k++) {
    let c = c0 + k;
    if (c >= igp.in_channels) { return; }
    let at = (n * igp.in_channels + c) * plane + h * igp.in_w;
    for (var m = 0u; m < 4u; m++) {
      let w = first + 2u * m;
      if (w < igp.in_w) { ig_dx[at + w] = lanes[k][m]; }
    }
  }
}

@compute @workgroup_size(WG_X)
fn input_grad3x3_s2(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = linear_index(lid, wid, nwg);
  if (t >= igp.invocations) { return; }
  let wb = t % igp.blocks_w;
  var rest = t / igp.blocks_w;
  let hb = rest % igp.blocks_h;
  rest = rest / igp.blocks_h;
  let cb = rest % igp.blocks_c;
  let n = rest / igp.blocks_c;
  let cg = 2u * cb;
  let dy_plane = igp.out_h * igp.out_w / 4u;

  var even0: Acc8; var odd0: Acc8; var even1: Acc8; var odd1: Acc8; var even2: Acc8; var odd2: Acc8; var even3: Acc8; var odd3: Acc8;
  var even4: Acc8; var odd4: Acc8; var even5: Acc8; var odd5: Acc8; var even6: Acc8; var odd6: Acc8; var even7: Acc8; var odd7: Acc8;
  for (var o = 0u; o < igp.out_channels; o++) {
    let plane = (n * igp.out_channels + o) * dy_plane;
    let k0 = input_grad_taps(o, 0u, cg);
    let k1 = input_grad_taps(o, 1u, cg);
    let k2 = input_grad_taps(o, 2u, cg);
    let u0 = dy_pair(plane, 4u * hb + 0u, wb);
    let u1 = dy_pair(plane, 4u * hb + 1u, wb);
    let u2 = dy_pair(plane, 4u * hb + 2u, wb);
    let u3 = dy_pair(plane, 4u * hb + 3u, wb);
    let u4 = dy_pair(plane, 4u * hb + 4u, wb);
    input_grad_row(&even0, &odd0, k1, u0);
    input_grad_row(&even1, &odd1, k2, u0);
    input_grad_row(&even1, &odd1, k0, u1);
    input_grad_row(&even2, &odd2, k1, u1);
    input_grad_row(&even3, &odd3, k2, u1);
    input_grad_row(&even3, &odd3, k0, u2);
    input_grad_row(&even4, &odd4, k1, u2);
    input_grad_row(&even5, &odd5, k2, u2);
    input_grad_row(&even5, &odd5, k0, u3);
    input_grad_row(&even6, &odd6, k1, u3);
    input_grad_row(&even7, &odd7, k2, u3);
    input_grad_row(&even7, &odd7, k0, u4);
  }
  let c0 = 8u * cb;
  let w0 = 8u * wb;
  let h0 = 8u * hb;
  input_grad_store(even0, n, c0, h0 + 0u, w0);
  input_grad_store(odd0, n, c0, h0 + 0u, w0 + 1u);
  input_grad_store(even1, n, c0, h0 + 1u, w0);
  input_grad_store(odd1, n, c0, h0 + 1u, w0 + 1u);
  input_grad_store(even2, n, c0, h0 + 2u, w0);
  input_grad_store(odd2, n, c0, h0 + 2u, w0 + 1u);
  input_grad_store(even3, n, c0, h0 + 3u, w0);
  input_grad_store(odd3, n, c0, h0 + 3u, w0 + 1u);
  input_grad_store(even4, n, c0, h0 + 4u, w0);
  input_grad_store(odd4, n, c0, h0 + 4u, w0 + 1u);
  input_grad_store(even5, n, c0, h0 + 5u, w0);
  input_grad_store(odd5, n, c0, h0 + 5u, w0 + 1u);
  input_grad_store(even6, n, c0, h0 + 6u, w0);
  input_grad_store(odd6, n, c0, h0 + 6u, w0 + 1u);
  input_grad_store(even7, n, c0, h0 + 7u, w0);
  input_grad_store(odd7, n, c0, h0 + 7u, w0 + 1u);
}

// ---- weight_grad3x3: dw[o,c,ky,kx] = Σ_{n,ho,wo} dy[n,o,ho,wo]·x[n,c,S·ho+ky−1,S·wo+kx−1] ----
// Invocation t = (split·blocks_c + ob)·blocks_w + cb (here blocks_c counts
// output-channel blocks and blocks_w input-channel blocks) owns output channels
// 4·OQ·ob.. (OQ quads) × input channels CB·cb.. × the 9 taps, and sums rows
// [split·rows_per_split, …) of the N·Ho output rows, 8 pixels at a time: per
// step, 8 vec4 loads of dy per quad and 12 window loads per input channel
// feed OQ·CB·9 accumulators, one vec4 each over the quad's 4 output channels,
// each taking 8 pixels' products (two dot products per lane) per write.
// With has_bias the cb = 0 invocations also sum dy for the bias gradient.
// Writes partial[((o·C + c)·9 + tap)·splits + split] and bias_partial[o·splits + split].
// Loads are what cost on llvmpipe, and a loop-carried variable costs a masked
// store per write, so each accumulator takes 8 pixels' products per write and
// the block is as large as helps: 4 quads × 2 channels measured ~1.6× faster
// than 8 output channels × 1 input channel with vec4-over-pixel accumulators.
// 4 quads × 4 channels ran this kernel ~10% faster still, but took 6.8 s to
// compile against 2.5 s (cold, Mesa 22), paid twice before the first training
// step (stride 1 and 2). With stride
// 1, two output rows per step share two of their three input rows (4 window
// loads per channel instead of 6): ~8% less weight-gradient time per step.


@group(0) @binding(1) var<storage, read> wg_dy: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> wg_partial: array<f32>;
@group(0) @binding(3) var<storage, read_write> wg_bias_partial: array<f32>;
@group(0) @binding(4) var<uniform> wgp: Params;

// Per (output quad, input channel): the 9 taps' sums, lanes = the quad's 4 output channels.
struct Acc9 { t0: vec4f, t1: vec4f, t2: vec4f, t3: vec4f, t4: vec4f, t5: vec4f, t6: vec4f, t7: vec4f, t8: vec4f }
// dy of one output channel for pixels 0..3 (a) and 4..7 (b) of the block.
struct DyPair { a: vec4f, b: vec4f }
struct DyQuad { o0: DyPair, o1: DyPair, o2: DyPair, o3: DyPair }
// The three kernel rows' shifted windows of one input channel.
struct Rows3 { s0: Shifted, s1: Shifted, s2: Shifted }

// The vec4 offset of input channel c of image n (clamped to the last channel: the block may run past it).
fn channel_plane(n: u32, c: u32) -> u32 {
  return (n * wgp.in_channels + min(c, wgp.in_channels - 1u)) * (wgp.in_h * wgp.in_w / 4u);
}

fn weight_rows(n: u32, c: u32, ho: u32, start: i32) -> Rows3 {
  let plane = channel_plane(n, c);
  let hi = i32(ho * STRIDE) - 1;
  return Rows3(
    shifted(input_window(plane, hi, start, wgp.in_h, wgp.in_w)),
    shifted(input_window(plane, hi + 1, start, wgp.in_h, wgp.in_w)),
    shifted(input_window(plane, hi + 2, start, wgp.in_h, wgp.in_w)),
  );
}

fn grad_pair(row: u32, o: u32, g: u32, has_b: bool) -> DyPair {
  let at = row + min(o, wgp.out_channels - 1u) * (wgp.out_h * wgp.out_w / 4u) + g;
  return DyPair(wg_dy[at], select(vec4f(0.0), wg_dy[select(at, at + 1u, has_b)], has_b));
}

fn dy_quad(row: u32, o: u32, g: u32, has_b: bool) -> DyQuad {
  return DyQuad(grad_pair(row, o, g, has_b), grad_pair(row, o + 1u, g, has_b), grad_pair(row, o + 2u, g, has_b), grad_pair(row, o + 3u, g, has_b));
}

// The quad's 4 output channels' dy times the 8 pixels a tap reads (a: pixels 0..3, b: 4..7).
fn quad_dot(d: DyQuad, a: vec4f, b: vec4f) -> vec4f {
  return vec4f(dot(d.o0.a, a) + dot(d.o0.b, b), dot(d.o1.a, a) + dot(d.o1.b, b), dot(d.o2.a, a) + dot(d.o2.b, b), dot(d.o3.a, a) + dot(d.o3.b, b));
}

fn weight_taps(acc: ptr<function, Acc9>, d: DyQuad, r: Rows3) {
  (*acc).t0 += quad_dot(d, r.s0.a0, r.s0.b0);
  (*acc).t1 += quad_dot(d, r.s0.a1, r.s0.b1);
  (*acc).t2 += quad_dot(d, r.s0.a2, r.s0.b2);
  (*acc).t3 += quad_dot(d, r.s1.a0, r.s1.b0);
  (*acc).t4 += quad_dot(d, r.s1.a1, r.s1.b1);
  (*acc).t5 += quad_dot(d, r.s1.a2, r.s1.b2);
  (*acc).t6 += quad_dot(d, r.s2.a0, r.s2.b0);
  (*acc).t7 += quad_dot(d, r.s2.a1, r.s2.b1);
  (*acc).t8 += quad_dot(d, r.s2.a2, r.s2.b2);
}

fn hsum(v: vec4f) -> f32 { return (v.x + v.y) + (v.z + v.w); }

fn quad_sums(d: DyQuad) -> vec4f {
  return vec4f(hsum(d.o0.a + d.o0.b), hsum(d.o1.a + d.o1.b), hsum(d.o2.a + d.o2.b), hsum(d.o3.a + d.o3.b));
}

fn weight_store(acc: Acc9, o0: u32, c: u32, split: u32) {
  if (c >= wgp.in_channels) { return; }
  let taps = array<vec4f, 9>(acc.t0, acc.t1, acc.t2, acc.t3, acc.t4, acc.t5, acc.t6, acc.t7, acc.t8);
  for (var k = 0u; k < 4u; k++) {
    let o = o0 + k;
    if (o >= wgp.out_channels) { return; }
    let base = (o * wgp.in_channels + c) * 9u;
    for (var tap = 0u; tap < 9u; tap++) {
      wg_partial[(base + tap) * wgp.splits + split] = taps[tap][k];
    }
  }
}

fn bias_store(sums: vec4f, o0: u32, split: u32) {
  for (var k = 0u; k < 4u; k++) {
    if (o0 + k < wgp.out_channels) { wg_bias_partial[(o0 + k) * wgp.splits + split] = sums[k]; }
  }
}

// One output quad's accumulators for the block's CB input channels.
struct QuadAcc { c0: Acc9, c1: Acc9, c2: Acc9, c3: Acc9 }
// The CB input channels' three kernel rows for one output row.
struct ChannelRows { r0: Rows3, r1: Rows3, r2: Rows3, r3: Rows3 }

fn quad_taps(acc: ptr<function, QuadAcc>, d: DyQuad, rows: ChannelRows) {
  weight_taps(&(*acc).c0, d, rows.r0);
  if (CB > 1u) { weight_taps(&(*acc).c1, d, rows.r1); }
  if (CB > 2u) { weight_taps(&(*acc).c2, d, rows.r2); }
  if (CB > 3u) { weight_taps(&(*acc).c3, d, rows.r3); }
}

// Everything one output row (8 pixels from group g) adds: each quad's dy times each channel's rows, and dy into the bias sums.
fn weight_row(q0: ptr<function, QuadAcc>, q1: ptr<function, QuadAcc>, q2: ptr<function, QuadAcc>, q3: ptr<function, QuadAcc>,
              bias: ptr<function, array<vec4f, 4>>, dy_row: u32, o0: u32, g: u32, has_b: bool, with_bias: bool, rows: ChannelRows) {
  let d0 = dy_quad(dy_row, o0, g, has_b);
  quad_taps(q0, d0, rows);
  if (with_bias) { (*bias)[0] += quad_sums(d0); }
  if (OQ > 1u) {
    let d = dy_quad(dy_row, o0 + 4u, g, has_b);
    quad_taps(q1, d, rows);
    if (with_bias) { (*bias)[1] += quad_sums(d); }
  }
  if (OQ > 2u) {
    let d = dy_quad(dy_row, o0 + 8u, g, has_b);
    quad_taps(q2, d, rows);
    if (with_bias) { (*bias)[2] += quad_sums(d); }
  }
  if (OQ > 3u) {
    let d = dy_quad(dy_row, o0 + 12u, g, has_b);
    quad_taps(q3, d, rows);
    if (with_bias) { (*bias)[3] += quad_sums(d); }
  }
}

fn quad_store(acc: QuadAcc, o0: u32, c0: u32, split: u32) {
  weight_store(acc.c0, o0, c0, split);
  if (CB > 1u) { weight_store(acc.c1, o0, c0 + 1u, split); }
  if (CB > 2u) { weight_store(acc.c2, o0, c0 + 2u, split); }
  if (CB > 3u) { weight_store(acc.c3, o0, c0 + 3u, split); }
}

@compute @workgroup_size(WG_X)
fn weight_grad3x3(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = linear_index(lid, wid, nwg);
  if (t >= wgp.invocations) { return; }
  let cb = t % wgp.blocks_w;
  let rest = t / wgp.blocks_w;
  let ob = rest % wgp.blocks_c;
  let split = rest / wgp.blocks_c;
  let o0 = 4u * OQ * ob;
  let c0 = CB * cb;
  let with_bias = wgp.has_bias != 0u && cb == 0u;
  let dy_plane = wgp.out_h * wgp.out_w / 4u;
  let groups_w = wgp.out_w / 4u;
  let rows = wgp.batch * wgp.out_h;
  let first = split * wgp.rows_per_split;
  let last = min(rows, first + wgp.rows_per_split);

  var q0: QuadAcc; var q1: QuadAcc; var q2: QuadAcc; var q3: QuadAcc;
  var bias: array<vec4f, 4>;
  var q = first;
  while (q < last) {
    let n = q / wgp.out_h;
    let ho = q % wgp.out_h;
    let dy_row = n * wgp.out_channels * dy_plane + ho * groups_w;
    // Stride 1: two output rows of one image per step share two of their three
    // input rows, so 4 window loads per channel serve both (6 otherwise).
    let pair = STRIDE == 1u && q + 1u < last && ho + 1u < wgp.out_h;
    for (var g = 0u; g < groups_w; g += 2u) {
      let has_b = g + 1u < groups_w;
      let start = i32(STRIDE * g) - 1;
      var a: ChannelRows; var b: ChannelRows;
      a.r0 = weight_rows(n, c0, ho, start);
      if (CB > 1u) { a.r1 = weight_rows(n, c0 + 1u, ho, start); }
      if (CB > 2u) { a.r2 = weight_rows(n, c0 + 2u, ho, start); }
      if (CB > 3u) { a.r3 = weight_rows(n, c0 + 3u, ho, start); }
      weight_row(&q0, &q1, &q2, &q3, &bias, dy_row, o0, g, has_b, with_bias, a);
      if (pair) {
        let hi = i32(ho) + 2;
        b.r0 = Rows3(a.r0.s1, a.r0.s2, shifted(input_window(channel_plane(n, c0), hi, start, wgp.in_h, wgp.in_w)));
        if (CB > 1u) { b.r1 = Rows3(a.r1.s1, a.r1.s2, shifted(input_window(channel_plane(n, c0 + 1u), hi, start, wgp.in_h, wgp.in_w))); }
        if (CB > 2u) { b.r2 = Rows3(a.r2.s1, a.r2.s2, shifted(input_window(channel_plane(n, c0 + 2u), hi, start, wgp.in_h, wgp.in_w))); }
        if (CB > 3u) { b.r3 = Rows3(a.r3.s1, a.r3.s2, shifted(input_window(channel_plane(n, c0 + 3u), hi, start, wgp.in_h, wgp.in_w))); }
        weight_row(&q0, &q1, &q2, &q3, &bias, dy_row + groups_w, o0, g, has_b, with_bias, b);
      }
    }
    q += select(1u, 2u, pair);
  }
  quad_store(q0, o0, c0, split);
  if (OQ > 1u) { quad_store(q1, o0 + 4u, c0, split); }
  if (OQ > 2u) { quad_store(q2, o0 + 8u, c0, split); }
  if (OQ > 3u) { quad_store(q3, o0 + 12u, c0, split); }
  if (with_bias) {
    bias_store(bias[0], o0, split);
    if (OQ > 1u) { bias_store(bias[1], o0 + 4u, split); }
    if (OQ > 2u) { bias_store(bias[2], o0 + 8u, split); }
    if (OQ > 3u) { bias_store(bias[3], o0 + 12u, split); }
  }
}

// ---- forward1x1: y[n,o,p] = Σ_c w[o,c]·x[n,c,p] + b[o] (and the 1×1 input gradient) ----
// Over the flattened H·W plane (a multiple of 4). Invocation
// t = (n·blocks_c + ob)·blocks_w + pb owns output channels 8·ob.. and the 8
// vec4 pixel groups 8·pb..: per 4 input channels, 8 weight and 32 pixel vec4
// loads for 256 vec4 multiply-adds, each accumulator taking 4 per write.

// All bindings are forward3x3's.

// The 8 pixel groups of one input channel (zeros past the plane or past the last channel).
struct Pixels8 { v0: vec4f, v1: vec4f, v2: vec4f, v3: vec4f, v4: vec4f, v5: vec4f, v6: vec4f, v7: vec4f }
// Packed weights of one input channel for the invocation's 8 output channels.
struct Weights8 { lo: vec4f, hi: vec4f }

fn pointwise_group(base: u32, g: u32, live: bool) -> vec4f {
  let plane = fp.in_h * fp.in_w / 4u;
  return select(vec4f(0.0), cv_x[base + min(g, plane - 1u)], live && g < plane);
}

fn pointwise_pixels(n: u32, c: u32, g0: u32) -> Pixels8 {
  let plane = fp.in_h * fp.in_w / 4u;
  let live = c < fp.in_channels;
  let base = (n * fp.in_channels + min(c, fp.in_channels - 1u)) * plane;
  return Pixels8(
    pointwise_group(base, g0, live), pointwise_group(base, g0 + 1u, live),
    pointwise_group(base, g0 + 2u, live), pointwise_group(base, g0 + 3u, live),
    pointwise_group(base, g0 + 4u, live), pointwise_group(base, g0 + 5u, live),
    pointwise_group(base, g0 + 6u, live), pointwise_group(base, g0 + 7u, live),
  );
}

fn pointwise_weights(c: u32, g: u32) -> Weights8 {
  let at = min(c, fp.in_channels - 1u) * (fp.packed / 4u) + g;
  return Weights8(fw_w[at], fw_w[at + 1u]);
}

// Four input channels' products into the 8 output channels of one pixel group.
fn mac4(a: ptr<function, Acc8>, w0: Weights8, w1: Weights8, w2: Weights8, w3: Weights8, x0: vec4f, x1: vec4f, x2: vec4f, x3: vec4f) {
  (*a).c0 = fma(vec4f(w0.lo.x), x0, fma(vec4f(w1.lo.x), x1, fma(vec4f(w2.lo.x), x2, fma(vec4f(w3.lo.x), x3, (*a).c0))));
  (*a).c1 = fma(vec4f(w0.lo.y), x0, fma(vec4f(w1.lo.y), x1, fma(vec4f(w2.lo.y), x2, fma(vec4f(w3.lo.y), x3, (*a).c1))));
  (*a).c2 = fma(vec4f(w0.lo.z), x0, fma(vec4f(w1.lo.z), x1, fma(vec4f(w2.lo.z), x2, fma(vec4f(w3.lo.z), x3, (*a).c2))));
  (*a).c3 = fma(vec4f(w0.lo.w), x0, fma(vec4f(w1.lo.w), x1, fma(vec4f(w2.lo.w), x2, fma(vec4f(w3.lo.w), x3, (*a).c3))));
  (*a).c4 = fma(vec4f(w0.hi.x), x0, fma(vec4f(w1.hi.x), x1, fma(vec4f(w2.hi.x), x2, fma(vec4f(w3.hi.x), x3, (*a).c4))));
  (*a).c5 = fma(vec4f(w0.hi.y), x0, fma(vec4f(w1.hi.y), x1, fma(vec4f(w2.hi.y), x2, fma(vec4f(w3.hi.y), x3, (*a).c5))));
  (*a).c6 = fma(vec4f(w0.hi.z), x0, fma(vec4f(w1.hi.z), x1, fma(vec4f(w2.hi.z), x2, fma(vec4f(w3.hi.z), x3, (*a).c6))));
  (*a).c7 = fma(vec4f(w0.hi.w), x0, fma(vec4f(w1.hi.w), x1, fma(vec4f(w2.hi.w), x2, fma(vec4f(w3.hi.w), x3, (*a).c7))));
}

fn pointwise_store(acc: Acc8, n: u32, o0: u32, g: u32) {
  let plane = fp.out_h * fp.out_w / 4u;
  if (g >= plane) { return; }
  let lanes = array<vec4f, 8>(acc.c0, acc.c1, acc.c2, acc.c3, acc.c4, acc.c5, acc.c6, acc.c7);
  for (var k = 0u; k < 8u; k++) {
    let o = o0 + k;
    if (o >= fp.out_channels) { return; }
    let at = (n * fp.out_channels + o) * plane + g;
    fw_y[at] = epilogue(lanes[k], o, at);
  }
}

@compute @workgroup_size(WG_X)
fn forward1x1(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = linear_index(lid, wid, nwg);
  if (t >= fp.invocations) { return; }
  let pb = t % fp.blocks_w;
  let rest = t / fp.blocks_w;
  let ob = rest % fp.blocks_c;
  let n = rest / fp.blocks_c;
  let g0 = 8u * pb;
  let wg = 2u * ob;

  var a0: Acc8; var a1: Acc8; var a2: Acc8; var a3: Acc8; var a4: Acc8; var a5: Acc8; var a6: Acc8; var a7: Acc8;
  for (var c = 0u; c < fp.in_channels; c += 4u) {
    let w0 = pointwise_weights(c, wg);
    let w1 = pointwise_weights(c + 1u, wg);
    let w2 = pointwise_weights(c + 2u, wg);
    let w3 = pointwise_weights(c + 3u, wg);
    let x0 = pointwise_pixels(n, c, g0);
    let x1 = pointwise_pixels(n, c + 1u, g0);
    let x2 = pointwise_pixels(n, c + 2u, g0);
    let x3 = pointwise_pixels(n, c + 3u, g0);
    mac4(&a0, w0, w1, w2, w3, x0.v0, x1.v0, x2.v0, x3.v0);
    mac4(&a1, w0, w1, w2, w3, x0.v1, x1.v1, x2.v1, x3.v1);
    mac4(&a2, w0, w1, w2, w3, x0.v2, x1.v2, x2.v2, x3.v2);
    mac4(&a3, w0, w1, w2, w3, x0.v3, x1.v3, x2.v3, x3.v3);
    mac4(&a4, w0, w1, w2, w3, x0.v4, x1.v4, x2.v4, x3.v4);
    mac4(&a5, w0, w1, w2, w3, x0.v5, x1.v5, x2.v5, x3.v5);
    mac4(&a6, w0, w1, w2, w3, x0.v6, x1.v6, x2.v6, x3.v6);
    mac4(&a7, w0, w1, w2, w3, x0.v7, x1.v7, x2.v7, x3.v7);
  }
  let o0 = 8u * ob;
  pointwise_store(a0, n, o0, g0);
  pointwise_store(a1, n, o0, g0 + 1u);
  pointwise_store(a2, n, o0, g0 + 2u);
  pointwise_store(a3, n, o0, g0 + 3u);
  pointwise_store(a4, n, o0, g0 + 4u);
  pointwise_store(a5, n, o0, g0 + 5u);
  pointwise_store(a6, n, o0, g0 + 6u);
  pointwise_store(a7, n, o0, g0 + 7u);
}

// ---- weight_grad1x1: dw[o,c] = Σ_{n,p} dy[n,o,p]·x[n,c,p] ------------------------
// Invocation t = (split·blocks_c + ob)·blocks_w + cb owns output channels
// 4·OQ·ob.. (OQ quads) × the 8 input channels 8·cb.., and sums the pixel
// pairs [split·rows_per_split, …) of the N·⌈H·W/8⌉ pairs of vec4 groups:
// per pair, 8 dy loads per quad and 16 x loads feed OQ·8 accumulators, each
// a vec4 over the quad's output channels taking 8 pixels' products per write.
// With has_bias the cb = 0 invocations also sum dy for the bias gradient.
// Writes partial[(o·C + c)·splits + split] and bias_partial[o·splits + split].

// The bindings are weight_grad3x3's: x (cv_x), dy, the partial sums, the bias partial sums, the parameters.

// Vec4 groups g, g + 1 (b zero when past the plane) of one channel plane starting at vec4 `plane_at`.
fn pointwise_pair(buf_is_dy: bool, plane_at: u32, g: u32, has_b: bool) -> DyPair {
  let at = plane_at + g;
  let b_at = select(at, at + 1u, has_b);
  if (buf_is_dy) { return DyPair(wg_dy[at], select(vec4f(0.0), wg_dy[b_at], has_b)); }
  return DyPair(cv_x[at], select(vec4f(0.0), cv_x[b_at], has_b));
}

fn pointwise_quad(n: u32, o: u32, g: u32, has_b: bool) -> DyQuad {
  let plane = wgp.out_h * wgp.out_w / 4u;
  let last = wgp.out_channels - 1u;
  let base = n * wgp.out_channels;
  return DyQuad(
    pointwise_pair(true, (base + min(o, last)) * plane, g, has_b),
    pointwise_pair(true, (base + min(o + 1u, last)) * plane, g, has_b),
    pointwise_pair(true, (base + min(o + 2u, last)) * plane, g, has_b),
    pointwise_pair(true, (base + min(o + 3u, last)) * plane, g, has_b),
  );
}

// The 8 input channels' pixel pairs.
struct Channels8 { c0: DyPair, c1: DyPair, c2: DyPair, c3: DyPair, c4: DyPair, c5: DyPair, c6: DyPair, c7: DyPair }

fn pointwise_channels(n: u32, c0: u32, g: u32, has_b: bool) -> Channels8 {
  let plane = wgp.in_h * wgp.in_w / 4u;
  let last = wgp.in_channels - 1u;
  let base = n * wgp.in_channels;
  return Channels8(
    pointwise_pair(false, (base + min(c0, last)) * plane, g, has_b),
    pointwise_pair(false, (base + min(c0 + 1u, last)) * plane, g, has_b),
    pointwise_pair(false, (base + min(c0 + 2u, last)) * plane, g, has_b),
    pointwise_pair(false, (base + min(c0 + 3u, last)) * plane, g, has_b),
    pointwise_pair(false, (base + min(c0 + 4u, last)) * plane, g, has_b),
    pointwise_pair(false, (base + min(c0 + 5u, last)) * plane, g, has_b),
    pointwise_pair(false, (base + min(c0 + 6u, last)) * plane, g, has_b),
    pointwise_pair(false, (base + min(c0 + 7u, last)) * plane, g, has_b),
  );
}

fn pointwise_taps(acc: ptr<function, Acc8>, d: DyQuad, x: Channels8) {
  (*acc).c0 += quad_dot(d, x.c0.a, x.c0.b);
  (*acc).c1 += quad_dot(d, x.c1.a, x.c1.b);
  (*acc).c2 += quad_dot(d, x.c2.a, x.c2.b);
  (*acc).c3 += quad_dot(d, x.c3.a, x.c3.b);
  (*acc).c4 += quad_dot(d, x.c4.a, x.c4.b);
  (*acc).c5 += quad_dot(d, x.c5.a, x.c5.b);
  (*acc).c6 += quad_dot(d, x.c6.a, x.c6.b);
  (*acc).c7 += quad_dot(d, x.c7.a, x.c7.b);
}

fn pointwise_grad_store(acc: Acc8, o0: u32, c0: u32, split: u32) {
  let lanes = array<vec4f, 8>(acc.c0, acc.c1, acc.c2, acc.c3, acc.c4, acc.c5, acc.c6, acc.c7);
  for (var k = 0u; k < 4u; k++) {
    let o = o0 + k;
    if (o >= wgp.out_channels) { return; }
    for (var j = 0u; j < 8u; j++) {
      let c = c0 + j;
      if (c < wgp.in_channels) { wg_partial[(o * wgp.in_channels + c) * wgp.splits + split] = lanes[j][k]; }
    }
  }
}

fn pointwise_bias_store(sums: vec4f, o0: u32, split: u32) {
  for (var k = 0u; k < 4u; k++) {
    if (o0 + k < wgp.out_channels) { wg_bias_partial[(o0 + k) * wgp.splits + split] = sums[k]; }
  }
}

@compute @workgroup_size(WG_X)
fn weight_grad1x1(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = linear_index(lid, wid, nwg);
  if (t >= wgp.invocations) { return; }
  let cb = t % wgp.blocks_w;
  let rest = t / wgp.blocks_w;
  let ob = rest % wgp.blocks_c;
  let split = rest / wgp.blocks_c;
  let o0 = 4u * OQ * ob;
  let c0 = 8u * cb;
  let with_bias = wgp.has_bias != 0u && cb == 0u;
  let groups = wgp.out_h * wgp.out_w / 4u;
  let pairs = (groups + 1u) / 2u;
  let first = split * wgp.rows_per_split;
  let last = min(wgp.batch * pairs, first + wgp.rows_per_split);

  var q0: Acc8; var q1: Acc8; var q2: Acc8; var q3: Acc8;
  var bias0 = vec4f(0.0); var bias1 = vec4f(0.0); var bias2 = vec4f(0.0); var bias3 = vec4f(0.0);
  for (var q = first; q < last; q++) {
    let n = q / pairs;
    let g = 2u * (q % pairs);
    let has_b = g + 1u < groups;
    let x = pointwise_channels(n, c0, g, has_b);
    {
      let d = pointwise_quad(n, o0, g, has_b);
      pointwise_taps(&q0, d, x);
      if (with_bias) { bias0 += quad_sums(d); }
    }
    if (OQ > 1u) {
      let d = pointwise_quad(n, o0 + 4u, g, has_b);
      pointwise_taps(&q1, d, x);
      if (with_bias) { bias1 += quad_sums(d); }
    }
    if (OQ > 2u) {
      let d = pointwise_quad(n, o0 + 8u, g, has_b);
      pointwise_taps(&q2, d, x);
      if (with_bias) { bias2 += quad_sums(d); }
    }
    if (OQ > 3u) {
      let d = pointwise_quad(n, o0 + 12u, g, has_b);
      pointwise_taps(&q3, d, x);
      if (with_bias) { bias3 += quad_sums(d); }
    }
  }
  pointwise_grad_store(q0, o0, c0, split);
  if (OQ > 1u) { pointwise_grad_store(q1, o0 + 4u, c0, split); }
  if (OQ > 2u) { pointwise_grad_store(q2, o0 + 8u, c0, split); }
  if (OQ > 3u) { pointwise_grad_store(q3, o0 + 12u, c0, split); }
  if (with_bias) {
    pointwise_bias_store(bias0, o0, split);
    if (OQ > 1u) { pointwise_bias_store(bias1, o0 + 4u, split); }
    if (OQ > 2u) { pointwise_bias_store(bias2, o0 + 8u, split); }
    if (OQ > 3u) { pointwise_bias_store(bias3, o0 + 12u, split); }
  }
}

// ---- sum_splits: dw[i] = Σ_s partial[i·splits + s], db likewise -----------------

@group(0) @binding(0) var<storage, read> ss_partial: array<f32>;
@group(0) @binding(1) var<storage, read> ss_bias_partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> ss_dw: array<f32>;
@group(0) @binding(3) var<storage, read_write> ss_db: array<f32>;
@group(0) @binding(4) var<uniform> ssp: Params;

@compute @workgroup_size(WG_X)
fn sum_splits(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(lid, wid, nwg);
  if (i >= ssp.invocations) { return; }
  var total = 0.0;
  if (i < ssp.weights) {
    for (var s = 0u; s < ssp.splits; s++) { total += ss_partial[i * ssp.splits + s]; }
    ss_dw[i] = total;
  } else {
    let o = i - ssp.weights;
    for (var s = 0u; s < ssp.splits; s++) { total += ss_bias_partial[o * ssp.splits + s]; }
    ss_db[o] = total;
  }
}
