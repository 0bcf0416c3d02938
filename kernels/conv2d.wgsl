// 2-D convolution (PyTorch cross-correlation, zero padding, NCHW, weights OIHW)
// and its input and weight gradients.
//
// Register blocking, no workgroup memory: on llvmpipe tiling through shared
// memory costs more than it saves, while keeping a block of outputs in
// registers lets every loaded value feed several multiply-adds. Each
// invocation owns BLOCK channels × 4·GROUPS pixels of one row (weight_grad:
// weight columns instead of pixels): each group of 4 pixels is the lanes of a
// vec4 accumulator, the channels are the named accumulators a0..a7 (group 0)
// and b0..b7 (group 1). Named variables behind `if (BLOCK > k)` (folded away
// once BLOCK is specialised) rather than an array indexed in a loop: Mesa
// keeps such an array in memory, which measured twice as slow. 8 channels ×
// 8 pixels measured ~1.8× faster than 4 × 4 on llvmpipe.
//
// Edges: channel indices past the last are clamped (the duplicate results are
// computed and dropped), pixels past the row end are not stored, and taps
// that fall in the zero padding read index 0 and are then masked to 0.

// Channels per invocation: output channels (forward, weight_grad) or input
// channels (input_grad). At most MAX_BLOCK.
override BLOCK: u32 = 8u;
// Groups of 4 pixels (or weight columns) per invocation: 1 or 2.
override GROUPS: u32 = 2u;
// forward: 1 to add the bias binding, 0 when the conv has no bias.
override HAS_BIAS: u32 = 1u;

const MAX_BLOCK: u32 = 8u;
// Pixels (or columns) per group: the lanes of a vec4.
const PIX: u32 = 4u;

// One struct for the three entry points; each reads the fields it needs.
struct ConvParams {
  // The conv's sizes (conv2d_params.wgsl).
  @size(64) g: ConvGeometry,
  // Number of live invocations (the dispatch is rounded up to whole workgroups).
  invocations: u32,
  // Channel blocks (forward: output, input_grad: input, weight_grad: output).
  blocks_c: u32,
  // Pixel blocks per row (forward, input_grad); column blocks (weight_grad).
  blocks_w: u32,
  // input_grad: pixel blocks per stride phase of an input row.
  blocks_per_phase: u32,
  // weight_grad: how many slices the N·Ho·Wo reduction is split into, and
  // the pixels in each slice.
  splits: u32,
  chunk: u32,
  // weight_grad: C·kH·kW, the weight elements per output channel.
  columns: u32,
}

const LANES = vec4i(0, 1, 2, 3);

// Whether the invocation has a second group of 4 pixels (b0..b7).
fn group1() -> bool { return GROUPS > 1u; }

// ---- forward: y = conv(x, w) + b -------------------------------------------
// Invocation t covers output channels o0..o0+BLOCK-1 and output pixels
// wo0..wo0+4·GROUPS−1 of row ho of image n, with
// t = ((n·blocks_c + ob)·Ho + ho)·blocks_w + wb, so neighbouring invocations
// share the weights and read neighbouring pixels.

@group(0) @binding(0) var<storage, read> f_x: array<f32>;
@group(0) @binding(1) var<storage, read> f_w: array<f32>;
@group(0) @binding(2) var<storage, read> f_bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> f_y: array<f32>;
@group(0) @binding(4) var<storage, read> f_residual: array<f32>;
@group(0) @binding(5) var<uniform> fp: ConvParams;

@compute @workgroup_size(WG_X)
fn forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = linear_index(lid, wid, nwg);
  if (t >= fp.invocations) { return; }
  let wb = t % fp.blocks_w;
  var rest = t / fp.blocks_w;
  let ho = rest % fp.g.out_h;
  rest = rest / fp.g.out_h;
  let ob = rest % fp.blocks_c;
  let n = rest / fp.blocks_c;
  let o0 = ob * BLOCK;
  let wo0 = wb * PIX * GROUPS;

  let taps = fp.g.kernel_h * fp.g.kernel_w;
  let w_stride_o = fp.g.in_channels * taps;
  let last_o = fp.g.out_channels - 1u;
  let w0 = min(o0, last_o) * w_stride_o;
  let w1 = min(o0 + 1u, last_o) * w_stride_o;
  let w2 = min(o0 + 2u, last_o) * w_stride_o;
  let w3 = min(o0 + 3u, last_o) * w_stride_o;
  let w4 = min(o0 + 4u, last_o) * w_stride_o;
  let w5 = min(o0 + 5u, last_o) * w_stride_o;
  let w6 = min(o0 + 6u, last_o) * w_stride_o;
  let w7 = min(o0 + 7u, last_o) * w_stride_o;

  let hi0 = i32(ho * fp.g.stride_h) - i32(fp.g.pad_h);
  let wi_lanes = i32(wo0 * fp.g.stride_w) - i32(fp.g.pad_w) + LANES * i32(fp.g.stride_w);
  let in_w = i32(fp.g.in_w);
  let plane = fp.g.in_h * fp.g.in_w;

  var a0 = vec4f(0.0); var a1 = vec4f(0.0); var a2 = vec4f(0.0); var a3 = vec4f(0.0);
  var a4 = vec4f(0.0); var a5 = vec4f(0.0); var a6 = vec4f(0.0); var a7 = vec4f(0.0);
  var b0 = vec4f(0.0); var b1 = vec4f(0.0); var b2 = vec4f(0.0); var b3 = vec4f(0.0);
  var b4 = vec4f(0.0); var b5 = vec4f(0.0); var b6 = vec4f(0.0); var b7 = vec4f(0.0);
  let x_image = n * fp.g.in_channels * plane;
  for (var ky = 0u; ky < fp.g.kernel_h; ky++) {
    let hi = hi0 + i32(ky);
    if (hi < 0 || hi >= i32(fp.g.in_h)) { continue; }
    let x_row = x_image + u32(hi) * fp.g.in_w;
    for (var kx = 0u; kx < fp.g.kernel_w; kx++) {
      let wi = wi_lanes + i32(kx);
      let inside = (wi >= vec4i(0)) & (wi < vec4i(in_w));
      let col = vec4u(select(vec4i(0), wi, inside)) + x_row;
      let wi_b = wi + i32(PIX * fp.g.stride_w);
      let inside_b = (wi_b >= vec4i(0)) & (wi_b < vec4i(in_w));
      let col_b = vec4u(select(vec4i(0), wi_b, inside_b)) + x_row;
      let tap = ky * fp.g.kernel_w + kx;
      for (var c = 0u; c < fp.g.in_channels; c++) {
        let at = col + c * plane;
        let xv = select(vec4f(0.0), vec4f(f_x[at.x], f_x[at.y], f_x[at.z], f_x[at.w]), inside);
        var xv_b = vec4f(0.0);
        if (group1()) {
          let at_b = col_b + c * plane;
          xv_b = select(vec4f(0.0), vec4f(f_x[at_b.x], f_x[at_b.y], f_x[at_b.z], f_x[at_b.w]), inside_b);
        }
        let w_at = c * taps + tap;
        { let v = f_w[w0 + w_at]; a0 += v * xv; if (group1()) { b0 += v * xv_b; } }
        if (BLOCK > 1u) { let v = f_w[w1 + w_at]; a1 += v * xv; if (group1()) { b1 += v * xv_b; } }
        if (BLOCK > 2u) { let v = f_w[w2 + w_at]; a2 += v * xv; if (group1()) { b2 += v * xv_b; } }
        if (BLOCK > 3u) { let v = f_w[w3 + w_at]; a3 += v * xv; if (group1()) { b3 += v * xv_b; } }
        if (BLOCK > 4u) { let v = f_w[w4 + w_at]; a4 += v * xv; if (group1()) { b4 += v * xv_b; } }
        if (BLOCK > 5u) { let v = f_w[w5 + w_at]; a5 += v * xv; if (group1()) { b5 += v * xv_b; } }
        if (BLOCK > 6u) { let v = f_w[w6 + w_at]; a6 += v * xv; if (group1()) { b6 += v * xv_b; } }
        if (BLOCK > 7u) { let v = f_w[w7 + w_at]; a7 += v * xv; if (group1()) { b7 += v * xv_b; } }
      }
    }
  }

  let acc = array<array<vec4f, MAX_BLOCK>, 2>(array(a0, a1, a2, a3, a4, a5, a6, a7), array(b0, b1, b2, b3, b4, b5, b6, b7));
  let out_plane = fp.g.out_h * fp.g.out_w;
  for (var k = 0u; k < BLOCK; k++) {
    let o = o0 + k;
    if (o >= fp.g.out_channels) { break; }
    var b = 0.0;
    if (HAS_BIAS == 1u) { b = f_bias[o]; }
    let y_row = (n * fp.g.out_channels + o) * out_plane + ho * fp.g.out_w;
    for (var j = 0u; j < PIX * GROUPS; j++) {
      if (wo0 + j < fp.g.out_w) {
        var v = acc[j / PIX][k][j % PIX] + b;
        if (HAS_RESIDUAL) { v += f_residual[y_row + wo0 + j]; }
        f_y[y_row + wo0 + j] = activate(v);
      }
    }
  }
}

// ---- input_grad: dx = conv_transpose(dy, w) -----------------------------------
// A gather: dx[n,c,h,w] = Σ_{o,ky,kx} dy[n,o,ho,wo]·w[o,c,ky,kx] over the
// (ho, wo) with ho·s + ky − p = h and wo·s + kx − p = w. Each invocation takes
// BLOCK input channels × 4·GROUPS input pixels of one row spaced by the
// stride (x0, x0+s, x0+2s, …): pixels of one stride phase see the same taps,
// so the lanes always read consecutive dy pixels or none, and a stride-2 conv
// needs no per-lane tap test. blocks_w = stride_w · blocks_per_phase.

@group(0) @binding(0) var<storage, read> d_dy: array<f32>;
@group(0) @binding(1) var<storage, read> d_w: array<f32>;
@group(0) @binding(2) var<storage, read_write> d_dx: array<f32>;
@group(0) @binding(3) var<uniform> dp: ConvParams;

@compute @workgroup_size(WG_X)
fn input_grad(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = linear_index(lid, wid, nwg);
  if (t >= dp.invocations) { return; }
  let wb = t % dp.blocks_w;
  var rest = t / dp.blocks_w;
  let h = rest % dp.g.in_h;
  rest = rest / dp.g.in_h;
  let cb = rest % dp.blocks_c;
  let n = rest / dp.blocks_c;
  let c0 = cb * BLOCK;
  let phase = wb / dp.blocks_per_phase;
  let x0 = phase + (wb % dp.blocks_per_phase) * PIX * GROUPS * dp.g.stride_w;

  let taps = dp.g.kernel_h * dp.g.kernel_w;
  let last_c = dp.g.in_channels - 1u;
  let w0 = min(c0, last_c) * taps;
  let w1 = min(c0 + 1u, last_c) * taps;
  let w2 = min(c0 + 2u, last_c) * taps;
  let w3 = min(c0 + 3u, last_c) * taps;
  let w4 = min(c0 + 4u, last_c) * taps;
  let w5 = min(c0 + 5u, last_c) * taps;
  let w6 = min(c0 + 6u, last_c) * taps;
  let w7 = min(c0 + 7u, last_c) * taps;
  let w_stride_o = dp.g.in_channels * taps;
  let out_plane = dp.g.out_h * dp.g.out_w;
  let sh = i32(dp.g.stride_h);
  let sw = i32(dp.g.stride_w);
  let out_w = i32(dp.g.out_w);

  var a0 = vec4f(0.0); var a1 = vec4f(0.0); var a2 = vec4f(0.0); var a3 = vec4f(0.0);
  var a4 = vec4f(0.0); var a5 = vec4f(0.0); var a6 = vec4f(0.0); var a7 = vec4f(0.0);
  var b0 = vec4f(0.0); var b1 = vec4f(0.0); var b2 = vec4f(0.0); var b3 = vec4f(0.0);
  var b4 = vec4f(0.0); var b5 = vec4f(0.0); var b6 = vec4f(0.0); var b7 = vec4f(0.0);
  for (var ky = 0u; ky < dp.g.kernel_h; ky++) {
    // Shifted by kernel_h·stride so the division below never sees a negative.
    let u = i32(h + dp.g.pad_h) - i32(ky) + i32(dp.g.kernel_h) * sh;
    if (u % sh != 0) { continue; }
    let ho = u / sh - i32(dp.g.kernel_h);
    if (ho < 0 || ho >= i32(dp.g.out_h)) { continue; }
    for (var kx = 0u; kx < dp.g.kernel_w; kx++) {
      let v = i32(x0 + dp.g.pad_w) - i32(kx) + i32(dp.g.kernel_w) * sw;
      if (v % sw != 0) { continue; }
      let wo = v / sw - i32(dp.g.kernel_w) + LANES;
      let inside = (wo >= vec4i(0)) & (wo < vec4i(out_w));
      let col = vec4u(select(vec4i(0), wo, inside)) + u32(ho) * dp.g.out_w;
      let wo_b = wo + i32(PIX);
      let inside_b = (wo_b >= vec4i(0)) & (wo_b < vec4i(out_w));
      let col_b = vec4u(select(vec4i(0), wo_b, inside_b)) + u32(ho) * dp.g.out_w;
      let tap = ky * dp.g.kernel_w + kx;
      for (var o = 0u; o < dp.g.out_channels; o++) {
        let dy_row = (n * dp.g.out_channels + o) * out_plane;
        let at = col + dy_row;
        let dyv = select(vec4f(0.0), vec4f(d_dy[at.x], d_dy[at.y], d_dy[at.z], d_dy[at.w]), inside);
        var dyv_b = vec4f(0.0);
        if (group1()) {
          let at_b = col_b + dy_row;
          dyv_b = select(vec4f(0.0), vec4f(d_dy[at_b.x], d_dy[at_b.y], d_dy[at_b.z], d_dy[at_b.w]), inside_b);
        }
        let w_at = o * w_stride_o + tap;
        { let v = d_w[w0 + w_at]; a0 += v * dyv; if (group1()) { b0 += v * dyv_b; } }
        if (BLOCK > 1u) { let v = d_w[w1 + w_at]; a1 += v * dyv; if (group1()) { b1 += v * dyv_b; } }
        if (BLOCK > 2u) { let v = d_w[w2 + w_at]; a2 += v * dyv; if (group1()) { b2 += v * dyv_b; } }
        if (BLOCK > 3u) { let v = d_w[w3 + w_at]; a3 += v * dyv; if (group1()) { b3 += v * dyv_b; } }
        if (BLOCK > 4u) { let v = d_w[w4 + w_at]; a4 += v * dyv; if (group1()) { b4 += v * dyv_b; } }
        if (BLOCK > 5u) { let v = d_w[w5 + w_at]; a5 += v * dyv; if (group1()) { b5 += v * dyv_b; } }
        if (BLOCK > 6u) { let v = d_w[w6 + w_at]; a6 += v * dyv; if (group1()) { b6 += v * dyv_b; } }
        if (BLOCK > 7u) { let v = d_w[w7 + w_at]; a7 += v * dyv; if (group1()) { b7 += v * dyv_b; } }
      }
    }
  }

  let acc = array<array<vec4f, MAX_BLOCK>, 2>(array(a0, a1, a2, a3, a4, a5, a6, a7), array(b0, b1, b2, b3, b4, b5, b6, b7));
  let plane = dp.g.in_h * dp.g.in_w;
  for (var k = 0u; k < BLOCK; k++) {
    let c = c0 + k;
    if (c >= dp.g.in_channels) { break; }
    let dx_row = (n * dp.g.in_channels + c) * plane + h * dp.g.in_w;
    for (var j = 0u; j < PIX * GROUPS; j++) {
      let w = x0 + j * dp.g.stride_w;
      if (w < dp.g.in_w) { d_dx[dx_row + w] = acc[j / PIX][k][j % PIX]; }
    }
  }
}

// ---- weight_grad: dw[o, col] = Σ_{n,ho,wo} dy[n,o,ho,wo]·x[n, c, ho·s+ky−p, wo·s+kx−p] -----
// col = (c·kH + ky)·kW + kx. The sum over N·Ho·Wo (~900k pixels at 720p) is
// split into `splits` slices; invocation t = (split·blocks_c + ob)·blocks_w + cb
// sums one slice for BLOCK output channels × 4 consecutive columns and writes
// partial[(o·columns + col)·splits + split]; sum_splits (or reduce.wgsl, for
// many slices) adds the slices up, contiguous along split. Blocking over
// columns rather than input channels keeps the lanes busy for single-channel
// convs (ACFM's 1×3×3 and 3×1×1: 9 or 3 columns).

@group(0) @binding(0) var<storage, read> g_dy: array<f32>;
@group(0) @binding(1) var<storage, read> g_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> g_partial: array<f32>;
@group(0) @binding(3) var<uniform> gp: ConvParams;

@compute @workgroup_size(WG_X)
fn weight_grad(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = linear_index(lid, wid, nwg);
  if (t >= gp.invocations) { return; }
  let cb = t % gp.blocks_w;
  var rest = t / gp.blocks_w;
  let ob = rest % gp.blocks_c;
  let split = rest / gp.blocks_c;
  let o0 = ob * BLOCK;
  let col0 = cb * PIX * GROUPS;

  // Per lane: which input channel and which tap offset the column reads.
  let taps = gp.g.kernel_h * gp.g.kernel_w;
  let plane = gp.g.in_h * gp.g.in_w;
  let last_col = vec4u(gp.columns - 1u);
  let cols = min(vec4u(col0) + vec4u(LANES), last_col);
  let dky = vec4i(cols % taps / gp.g.kernel_w) - i32(gp.g.pad_h);
  let dkx = vec4i(cols % taps % gp.g.kernel_w) - i32(gp.g.pad_w);
  let chan_offset = cols / taps * plane;
  let cols_b = min(cols + PIX, last_col);
  let dky_b = vec4i(cols_b % taps / gp.g.kernel_w) - i32(gp.g.pad_h);
  let dkx_b = vec4i(cols_b % taps % gp.g.kernel_w) - i32(gp.g.pad_w);
  let chan_offset_b = cols_b / taps * plane;
  let in_h = vec4i(i32(gp.g.in_h));
  let in_w = vec4i(i32(gp.g.in_w));

  let out_plane = gp.g.out_h * gp.g.out_w;
  let last_o = gp.g.out_channels - 1u;
  let d0 = min(o0, last_o) * out_plane;
  let d1 = min(o0 + 1u, last_o) * out_plane;
  let d2 = min(o0 + 2u, last_o) * out_plane;
  let d3 = min(o0 + 3u, last_o) * out_plane;
  let d4 = min(o0 + 4u, last_o) * out_plane;
  let d5 = min(o0 + 5u, last_o) * out_plane;
  let d6 = min(o0 + 6u, last_o) * out_plane;
  let d7 = min(o0 + 7u, last_o) * out_plane;

  let begin = split * gp.chunk;
  let end = min(gp.g.batch * out_plane, begin + gp.chunk);

  var a0 = vec4f(0.0); var a1 = vec4f(0.0); var a2 = vec4f(0.0); var a3 = vec4f(0.0);
  var a4 = vec4f(0.0); var a5 = vec4f(0.0); var a6 = vec4f(0.0); var a7 = vec4f(0.0);
  var b0 = vec4f(0.0); var b1 = vec4f(0.0); var b2 = vec4f(0.0); var b3 = vec4f(0.0);
  var b4 = vec4f(0.0); var b5 = vec4f(0.0); var b6 = vec4f(0.0); var b7 = vec4f(0.0);
  // Row by row, so the divisions and the row's bounds test happen once per row.
  var q = begin;
  while (q < end) {
    let n = q / out_plane;
    let pix = q % out_plane;
    let ho = pix / gp.g.out_w;
    let wo_begin = pix % gp.g.out_w;
    let wo_end = min(gp.g.out_w, wo_begin + (end - q));
    q += wo_end - wo_begin;
    let x_image = n * gp.g.in_channels * plane;
    let hi = i32(ho * gp.g.stride_h) + dky;
    let row_inside = (hi >= vec4i(0)) & (hi < in_h);
    let x_row = vec4i(chan_offset + x_image) + hi * in_w;
    let hi_b = i32(ho * gp.g.stride_h) + dky_b;
    let row_inside_b = (hi_b >= vec4i(0)) & (hi_b < in_h);
    let x_row_b = vec4i(chan_offset_b + x_image) + hi_b * in_w;
    let dy_row = n * gp.g.out_channels * out_plane + ho * gp.g.out_w;
    for (var wo = wo_begin; wo < wo_end; wo++) {
      let wi = i32(wo * gp.g.stride_w) + dkx;
      let inside = row_inside & (wi >= vec4i(0)) & (wi < in_w);
      let at = vec4u(select(vec4i(0), x_row + wi, inside));
      let xv = select(vec4f(0.0), vec4f(g_x[at.x], g_x[at.y], g_x[at.z], g_x[at.w]), inside);
      var xv_b = vec4f(0.0);
      if (group1()) {
        let wi_b = i32(wo * gp.g.stride_w) + dkx_b;
        let inside_b = row_inside_b & (wi_b >= vec4i(0)) & (wi_b < in_w);
        let at_b = vec4u(select(vec4i(0), x_row_b + wi_b, inside_b));
        xv_b = select(vec4f(0.0), vec4f(g_x[at_b.x], g_x[at_b.y], g_x[at_b.z], g_x[at_b.w]), inside_b);
      }
      let dy_at = dy_row + wo;
      { let v = g_dy[d0 + dy_at]; a0 += v * xv; if (group1()) { b0 += v * xv_b; } }
      if (BLOCK > 1u) { let v = g_dy[d1 + dy_at]; a1 += v * xv; if (group1()) { b1 += v * xv_b; } }
      if (BLOCK > 2u) { let v = g_dy[d2 + dy_at]; a2 += v * xv; if (group1()) { b2 += v * xv_b; } }
      if (BLOCK > 3u) { let v = g_dy[d3 + dy_at]; a3 += v * xv; if (group1()) { b3 += v * xv_b; } }
      if (BLOCK > 4u) { let v = g_dy[d4 + dy_at]; a4 += v * xv; if (group1()) { b4 += v * xv_b; } }
      if (BLOCK > 5u) { let v = g_dy[d5 + dy_at]; a5 += v * xv; if (group1()) { b5 += v * xv_b; } }
      if (BLOCK > 6u) { let v = g_dy[d6 + dy_at]; a6 += v * xv; if (group1()) { b6 += v * xv_b; } }
      if (BLOCK > 7u) { let v = g_dy[d7 + dy_at]; a7 += v * xv; if (group1()) { b7 += v * xv_b; } }
    }
  }

  let acc = array<array<vec4f, MAX_BLOCK>, 2>(array(a0, a1, a2, a3, a4, a5, a6, a7), array(b0, b1, b2, b3, b4, b5, b6, b7));
  for (var k = 0u; k < BLOCK; k++) {
    let o = o0 + k;
    if (o >= gp.g.out_channels) { break; }
    for (var j = 0u; j < PIX * GROUPS; j++) {
      let col = col0 + j;
      if (col < gp.columns) { g_partial[(o * gp.columns + col) * gp.splits + split] = acc[j / PIX][k][j % PIX]; }
    }
  }
}

// ---- sum_splits: dw[i] = Σ_s partial[i·splits + s] ----------------------------
// The second pass of weight_grad when there are few slices per weight: one
// invocation per weight. (Many slices for few weights, as in ACFM's 9-weight
// filters, go through reduce.wgsl's split reduction instead.)

@group(0) @binding(0) var<storage, read> s_partial: array<f32>;
@group(0) @binding(1) var<storage, read_write> s_dw: array<f32>;
@group(0) @binding(2) var<uniform> sp: ConvParams;

@compute @workgroup_size(WG_X)
fn sum_splits(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(lid, wid, nwg);
  if (i >= sp.invocations) { return; }
  let base = i * sp.splits;
  var total = 0.0;
  for (var s = 0u; s < sp.splits; s++) { total += s_partial[base + s]; }
  s_dw[i] = total;
}
