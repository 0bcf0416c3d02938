// The 3×3 kernels of the vec4 conv family (conv2d_vec4.wgsl): forward3x3, input_grad3x3_s2, weight_grad3x3.

// Stride on both axes: 1 or 2.
override STRIDE: u32 = 1u;
// weight_grad3x3: input channels per invocation (OQ output-channel quads).
const CB: u32 = 2u;
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

// ---- forward3x3: y = conv(x, w) + b (and the stride-1 input gradient) -------
// Invocation t = ((n·blocks_c + ob)·blocks_h + hb)·blocks_w + wb owns output
// channels 8·ob.. of the 4 rows 4·hb.. and pixels 8·wb..8·wb+7. Per input
// channel it loads the 3 kernel rows' weights (18 vec4) and the windows of the
// 6 (stride 2: 9) input rows the output rows read, each once, for 576 vec4
// multiply-adds. On llvmpipe 8 rows ran ~10% faster than 4 at stride 1 (the
// same at stride 2), but compiled 3× slower (5 s against 1.7 s per pipeline,
// cold, Mesa 22; 4× that on Mesa 25): 4 rows, for a first step within seconds.

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

fn forward_store(acc: Acc8, n: u32, o0: u32, ho: u32, wo0: u32) {
  if (ho >= fp.g.out_h || wo0 >= fp.g.out_w) { return; }
  let lanes = array<vec4f, 8>(acc.c0, acc.c1, acc.c2, acc.c3, acc.c4, acc.c5, acc.c6, acc.c7);
  let plane = fp.g.out_h * fp.g.out_w / 4u;
  let pixel = (ho * fp.g.out_w + wo0) / 4u;
  for (var k = 0u; k < 8u; k++) {
    let o = o0 + k;
    if (o >= fp.g.out_channels) { return; }
    let at = (n * fp.g.out_channels + o) * plane + pixel;
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
  let plane = fp.g.in_h * fp.g.in_w / 4u;
  let start = i32(STRIDE * wo0 / 4u) - 1;

  var a0: Acc8; var b0: Acc8; var a1: Acc8; var b1: Acc8; var a2: Acc8; var b2: Acc8; var a3: Acc8; var b3: Acc8;
  for (var c = 0u; c < fp.g.in_channels; c++) {
    let x_plane = (n * fp.g.in_channels + c) * plane;
    let k0 = forward_taps(c, 0u, g0, groups);
    let k1 = forward_taps(c, 1u, g0, groups);
    let k2 = forward_taps(c, 2u, g0, groups);
    // Output row r reads window STRIDE·r + ky (input row STRIDE·(ho0 + r) + ky − 1) with kernel row ky.
    let hi = i32(ho0 * STRIDE) - 1;
    let w0 = shifted(input_window(x_plane, hi + 0, start, fp.g.in_h, fp.g.in_w));
    let w1 = shifted(input_window(x_plane, hi + 1, start, fp.g.in_h, fp.g.in_w));
    let w2 = shifted(input_window(x_plane, hi + 2, start, fp.g.in_h, fp.g.in_w));
    let w3 = shifted(input_window(x_plane, hi + 3, start, fp.g.in_h, fp.g.in_w));
    let w4 = shifted(input_window(x_plane, hi + 4, start, fp.g.in_h, fp.g.in_w));
    let w5 = shifted(input_window(x_plane, hi + 5, start, fp.g.in_h, fp.g.in_w));
    if (STRIDE == 1u) {
      forward_row(&a0, &b0, w0, k0); forward_row(&a0, &b0, w1, k1); forward_row(&a0, &b0, w2, k2);
      forward_row(&a1, &b1, w1, k0); forward_row(&a1, &b1, w2, k1); forward_row(&a1, &b1, w3, k2);
      forward_row(&a2, &b2, w2, k0); forward_row(&a2, &b2, w3, k1); forward_row(&a2, &b2, w4, k2);
      forward_row(&a3, &b3, w3, k0); forward_row(&a3, &b3, w4, k1); forward_row(&a3, &b3, w5, k2);
    } else {
      let w6 = shifted(input_window(x_plane, hi + 6, start, fp.g.in_h, fp.g.in_w));
      let w7 = shifted(input_window(x_plane, hi + 7, start, fp.g.in_h, fp.g.in_w));
      let w8 = shifted(input_window(x_plane, hi + 8, start, fp.g.in_h, fp.g.in_w));
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
  let width = igp.g.out_w / 4u;
  let row_ok = ho < igp.g.out_h;
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
  if (h >= igp.g.in_h) { return; }
  let lanes = array<vec4f, 8>(acc.c0, acc.c1, acc.c2, acc.c3, acc.c4, acc.c5, acc.c6, acc.c7);
  let plane = igp.g.in_h * igp.g.in_w;
  for (var k = 0u; k < 8u; k++) {
    let c = c0 + k;
    if (c >= igp.g.in_channels) { return; }
    let at = (n * igp.g.in_channels + c) * plane + h * igp.g.in_w;
    for (var m = 0u; m < 4u; m++) {
      let w = first + 2u * m;
      if (w < igp.g.in_w) { ig_dx[at + w] = lanes[k][m]; }
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
  let dy_plane = igp.g.out_h * igp.g.out_w / 4u;

  var even0: Acc8; var odd0: Acc8; var even1: Acc8; var odd1: Acc8; var even2: Acc8; var odd2: Acc8; var even3: Acc8; var odd3: Acc8;
  var even4: Acc8; var odd4: Acc8; var even5: Acc8; var odd5: Acc8; var even6: Acc8; var odd6: Acc8; var even7: Acc8; var odd7: Acc8;
  for (var o = 0u; o < igp.g.out_channels; o++) {
    let plane = (n * igp.g.out_channels + o) * dy_plane;
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

// Per (output quad, input channel): the 9 taps' sums, lanes = the quad's 4 output channels.
struct Acc9 { t0: vec4f, t1: vec4f, t2: vec4f, t3: vec4f, t4: vec4f, t5: vec4f, t6: vec4f, t7: vec4f, t8: vec4f }
// The three kernel rows' shifted windows of one input channel.
struct Rows3 { s0: Shifted, s1: Shifted, s2: Shifted }

// The vec4 offset of input channel c of image n (clamped to the last channel: the block may run past it).
fn channel_plane(n: u32, c: u32) -> u32 {
  return (n * wgp.g.in_channels + min(c, wgp.g.in_channels - 1u)) * (wgp.g.in_h * wgp.g.in_w / 4u);
}

fn weight_rows(n: u32, c: u32, ho: u32, start: i32) -> Rows3 {
  let plane = channel_plane(n, c);
  let hi = i32(ho * STRIDE) - 1;
  return Rows3(
    shifted(input_window(plane, hi, start, wgp.g.in_h, wgp.g.in_w)),
    shifted(input_window(plane, hi + 1, start, wgp.g.in_h, wgp.g.in_w)),
    shifted(input_window(plane, hi + 2, start, wgp.g.in_h, wgp.g.in_w)),
  );
}

fn grad_pair(row: u32, o: u32, g: u32, has_b: bool) -> DyPair {
  let at = row + min(o, wgp.g.out_channels - 1u) * (wgp.g.out_h * wgp.g.out_w / 4u) + g;
  return DyPair(wg_dy[at], select(vec4f(0.0), wg_dy[select(at, at + 1u, has_b)], has_b));
}

fn dy_quad(row: u32, o: u32, g: u32, has_b: bool) -> DyQuad {
  return DyQuad(grad_pair(row, o, g, has_b), grad_pair(row, o + 1u, g, has_b), grad_pair(row, o + 2u, g, has_b), grad_pair(row, o + 3u, g, has_b));
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

fn weight_store(acc: Acc9, o0: u32, c: u32, split: u32) {
  if (c >= wgp.g.in_channels) { return; }
  let taps = array<vec4f, 9>(acc.t0, acc.t1, acc.t2, acc.t3, acc.t4, acc.t5, acc.t6, acc.t7, acc.t8);
  for (var k = 0u; k < 4u; k++) {
    let o = o0 + k;
    if (o >= wgp.g.out_channels) { return; }
    let base = (o * wgp.g.in_channels + c) * 9u;
    for (var tap = 0u; tap < 9u; tap++) {
      wg_partial[(base + tap) * wgp.splits + split] = taps[tap][k];
    }
  }
}

fn bias_store(sums: vec4f, o0: u32, split: u32) {
  for (var k = 0u; k < 4u; k++) {
    if (o0 + k < wgp.g.out_channels) { wg_bias_partial[(o0 + k) * wgp.splits + split] = sums[k]; }
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
  let dy_plane = wgp.g.out_h * wgp.g.out_w / 4u;
  let groups_w = wgp.g.out_w / 4u;
  let rows = wgp.g.batch * wgp.g.out_h;
  let first = split * wgp.rows_per_split;
  let last = min(rows, first + wgp.rows_per_split);

  var q0: QuadAcc; var q1: QuadAcc; var q2: QuadAcc; var q3: QuadAcc;
  var bias: array<vec4f, 4>;
  var q = first;
  while (q < last) {
    let n = q / wgp.g.out_h;
    let ho = q % wgp.g.out_h;
    let dy_row = n * wgp.g.out_channels * dy_plane + ho * groups_w;
    // Stride 1: two output rows of one image per step share two of their three
    // input rows, so 4 window loads per channel serve both (6 otherwise).
    let pair = STRIDE == 1u && q + 1u < last && ho + 1u < wgp.g.out_h;
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
        b.r0 = Rows3(a.r0.s1, a.r0.s2, shifted(input_window(channel_plane(n, c0), hi, start, wgp.g.in_h, wgp.g.in_w)));
        if (CB > 1u) { b.r1 = Rows3(a.r1.s1, a.r1.s2, shifted(input_window(channel_plane(n, c0 + 1u), hi, start, wgp.g.in_h, wgp.g.in_w))); }
        if (CB > 2u) { b.r2 = Rows3(a.r2.s1, a.r2.s2, shifted(input_window(channel_plane(n, c0 + 2u), hi, start, wgp.g.in_h, wgp.g.in_w))); }
        if (CB > 3u) { b.r3 = Rows3(a.r3.s1, a.r3.s2, shifted(input_window(channel_plane(n, c0 + 3u), hi, start, wgp.g.in_h, wgp.g.in_w))); }
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
