// The 1×1 kernels of the vec4 conv family (conv2d_vec4.wgsl): forward1x1, weight_grad1x1.

// ---- forward1x1: y[n,o,p] = Σ_c w[o,c]·x[n,c,p] + b[o] (and the 1×1 input gradient) ----
// Over the flattened H·W plane (a multiple of 4). Invocation
// t = (n·blocks_c + ob)·blocks_w + pb owns output channels 8·ob.. and the 8
// vec4 pixel groups 8·pb..: per 4 input channels, 8 weight and 32 pixel vec4
// loads for 256 vec4 multiply-adds, each accumulator taking 4 per write.

// Its bindings are the forward's, in conv2d_vec4.wgsl.

// The 8 pixel groups of one input channel (zeros past the plane or past the last channel).
struct Pixels8 { v0: vec4f, v1: vec4f, v2: vec4f, v3: vec4f, v4: vec4f, v5: vec4f, v6: vec4f, v7: vec4f }
// Packed weights of one input channel for the invocation's 8 output channels.
struct Weights8 { lo: vec4f, hi: vec4f }

fn pointwise_group(base: u32, g: u32, live: bool) -> vec4f {
  let plane = fp.g.in_h * fp.g.in_w / 4u;
  return select(vec4f(0.0), cv_x[base + min(g, plane - 1u)], live && g < plane);
}

fn pointwise_pixels(n: u32, c: u32, g0: u32) -> Pixels8 {
  let plane = fp.g.in_h * fp.g.in_w / 4u;
  let live = c < fp.g.in_channels;
  let base = (n * fp.g.in_channels + min(c, fp.g.in_channels - 1u)) * plane;
  return Pixels8(
    pointwise_group(base, g0, live), pointwise_group(base, g0 + 1u, live),
    pointwise_group(base, g0 + 2u, live), pointwise_group(base, g0 + 3u, live),
    pointwise_group(base, g0 + 4u, live), pointwise_group(base, g0 + 5u, live),
    pointwise_group(base, g0 + 6u, live), pointwise_group(base, g0 + 7u, live),
  );
}

fn pointwise_weights(c: u32, g: u32) -> Weights8 {
  let at = min(c, fp.g.in_channels - 1u) * (fp.packed / 4u) + g;
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
  let plane = fp.g.out_h * fp.g.out_w / 4u;
  if (g >= plane) { return; }
  let lanes = array<vec4f, 8>(acc.c0, acc.c1, acc.c2, acc.c3, acc.c4, acc.c5, acc.c6, acc.c7);
  for (var k = 0u; k < 8u; k++) {
    let o = o0 + k;
    if (o >= fp.g.out_channels) { return; }
    let at = (n * fp.g.out_channels + o) * plane + g;
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
  for (var c = 0u; c < fp.g.in_channels; c += 4u) {
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

// Its bindings are the weight gradient's, in conv2d_vec4.wgsl: x (cv_x), dy, the partial sums, the bias partial sums, the parameters.

// Vec4 groups g, g + 1 (b zero when past the plane) of one channel plane starting at vec4 `plane_at`.
fn pointwise_pair(buf_is_dy: bool, plane_at: u32, g: u32, has_b: bool) -> DyPair {
  let at = plane_at + g;
  let b_at = select(at, at + 1u, has_b);
  if (buf_is_dy) { return DyPair(wg_dy[at], select(vec4f(0.0), wg_dy[b_at], has_b)); }
  return DyPair(cv_x[at], select(vec4f(0.0), cv_x[b_at], has_b));
}

fn pointwise_quad(n: u32, o: u32, g: u32, has_b: bool) -> DyQuad {
  let plane = wgp.g.out_h * wgp.g.out_w / 4u;
  let last = wgp.g.out_channels - 1u;
  let base = n * wgp.g.out_channels;
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
  let plane = wgp.g.in_h * wgp.g.in_w / 4u;
  let last = wgp.g.in_channels - 1u;
  let base = n * wgp.g.in_channels;
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
    if (o >= wgp.g.out_channels) { return; }
    for (var j = 0u; j < 8u; j++) {
      let c = c0 + j;
      if (c < wgp.g.in_channels) { wg_partial[(o * wgp.g.in_channels + c) * wgp.splits + split] = lanes[j][k]; }
    }
  }
}

fn pointwise_bias_store(sums: vec4f, o0: u32, split: u32) {
  for (var k = 0u; k < 4u; k++) {
    if (o0 + k < wgp.g.out_channels) { wg_bias_partial[(o0 + k) * wgp.splits + split] = sums[k]; }
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
  let groups = wgp.g.out_h * wgp.g.out_w / 4u;
  let pairs = (groups + 1u) / 2u;
  let first = split * wgp.rows_per_split;
  let last = min(wgp.g.batch * pairs, first + wgp.rows_per_split);

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
