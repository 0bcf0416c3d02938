// Elementwise kernels: fill, unary activations and their gradients,
// broadcasting binary arithmetic, and in-place accumulation (grad += g).
//
// One invocation per 4 elements (vec4), except broadcasting binary ops: on
// llvmpipe a vec4 load costs little more than a scalar one. Buffers are bound
// rounded up to whole vec4s (the pool's allocations are), so the last group
// may read up to 3 floats past the tensor; it stores only the live lanes.
// Dispatches are folded into 2-D when they exceed 65,535 workgroups, so the
// linear index is rebuilt from workgroup_id and num_workgroups (see groups1d
// in engine/kernel.ts).

// Which function: see UNARY_* / BINARY_* in kernels/elementwise.ts.
override OP: u32 = 0;
// 0: all operands have the output's shape (no index arithmetic). 1: broadcast through strides.
override BROADCAST: u32 = 0;

// ---- fill ----------------------------------------------------------------

struct FillParams { n: u32, value: f32 }
@group(0) @binding(0) var<storage, read_write> fill_out: array<vec4f>;
@group(0) @binding(1) var<uniform> fp: FillParams;

@compute @workgroup_size(WG_X)
fn fill(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let q = linear_index(lid, wid, nwg);
  let i = 4u * q;
  if (i >= fp.n) { return; }
  let r = vec4f(fp.value);
  if (i + 4u <= fp.n) { fill_out[q] = r; return; }
  fill_out[q].x = r.x;
  if (i + 1u < fp.n) { fill_out[q].y = r.y; }
  if (i + 2u < fp.n) { fill_out[q].z = r.z; }
}

// ---- unary: y = f(x), and dx = dy * f'(x) ------------------------------------
// OP 0 relu, 1 leaky relu (slope a), 2 sigmoid, 3 affine a*x + b, 4 square.

struct UnaryParams { n: u32, a: f32, b: f32 }
@group(0) @binding(0) var<storage, read> ux: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> uy: array<vec4f>;
@group(0) @binding(2) var<uniform> up: UnaryParams;

fn unary_f(x: vec4f) -> vec4f {
  switch OP {
    case 0u: { return max(x, vec4f(0.0)); }
    case 1u: { return select(up.a * x, x, x > vec4f(0.0)); }
    case 2u: { return 1.0 / (1.0 + exp(-x)); }
    case 3u: { return up.a * x + up.b; }
    default: { return x * x; }
  }
}

@compute @workgroup_size(WG_X)
fn unary(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let q = linear_index(lid, wid, nwg);
  let i = 4u * q;
  if (i >= up.n) { return; }
  let r = unary_f(ux[q]);
  if (i + 4u <= up.n) { uy[q] = r; return; }
  uy[q].x = r.x;
  if (i + 1u < up.n) { uy[q].y = r.y; }
  if (i + 2u < up.n) { uy[q].z = r.z; }
}

// `saved` is the forward input x, except for sigmoid where it is the output y
// (y·(1−y) needs no exp and is what PyTorch saves too).
@group(0) @binding(0) var<storage, read> ub_saved: array<vec4f>;
@group(0) @binding(1) var<storage, read> ub_dy: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> ub_dx: array<vec4f>;
@group(0) @binding(3) var<uniform> ubp: UnaryParams;

@compute @workgroup_size(WG_X)
fn unary_backward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let q = linear_index(lid, wid, nwg);
  let i = 4u * q;
  if (i >= ubp.n) { return; }
  let s = ub_saved[q];
  let g = ub_dy[q];
  var d: vec4f;
  switch OP {
    case 0u: { d = select(vec4f(0.0), g, s > vec4f(0.0)); }
    case 1u: { d = select(ubp.a * g, g, s > vec4f(0.0)); }
    case 2u: { d = g * s * (1.0 - s); }
    case 3u: { d = ubp.a * g; }
    default: { d = 2.0 * s * g; }
  }
  if (i + 4u <= ubp.n) { ub_dx[q] = d; return; }
  ub_dx[q].x = d.x;
  if (i + 1u < ubp.n) { ub_dx[q].y = d.y; }
  if (i + 2u < ubp.n) { ub_dx[q].z = d.z; }
}

// ---- binary with broadcasting: out = a (op) b ----------------------------------
// OP 0 add, 1 sub, 2 mul, 3 div. BROADCAST 1: up to rank 8, out shape and
// per-operand element strides (0 along broadcast axes), innermost axis last.
// BROADCAST 2 (3): a (b) has the output's shape and the other operand is a
// contiguous block of its axes repeated, e.g. a scalar, or [1,C,1,1] against
// [N,C,H,W]: element i reads index (i / block_inner) % block_count, one
// division instead of a division per axis (llvmpipe divides lane by lane).

struct BinaryParams {
  n: u32,
  rank: u32,
  block_inner: u32,
  block_count: u32,
  shape: array<vec4u, 2>,
  stride_a: array<vec4u, 2>,
  stride_b: array<vec4u, 2>,
}
@group(0) @binding(0) var<storage, read> ba: array<f32>;
@group(0) @binding(1) var<storage, read> bb: array<f32>;
@group(0) @binding(2) var<storage, read_write> bout: array<f32>;
@group(0) @binding(3) var<uniform> bp: BinaryParams;

fn at(v: array<vec4u, 2>, d: u32) -> u32 { return v[d / 4u][d % 4u]; }

@compute @workgroup_size(WG_X)
fn binary(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(lid, wid, nwg);
  if (i >= bp.n) { return; }
  var ia = i;
  var ib = i;
  if (BROADCAST == 1u) {
    ia = 0u;
    ib = 0u;
    var rest = i;
    for (var d = i32(bp.rank) - 1; d >= 0; d--) {
      let du = u32(d);
      let extent = at(bp.shape, du);
      let c = rest % extent;
      rest = rest / extent;
      ia += c * at(bp.stride_a, du);
      ib += c * at(bp.stride_b, du);
    }
  } else if (BROADCAST == 2u) {
    ib = (i / bp.block_inner) % bp.block_count;
  } else if (BROADCAST == 3u) {
    ia = (i / bp.block_inner) % bp.block_count;
  }
  let a = ba[ia];
  let b = bb[ib];
  var r: f32;
  switch OP {
    case 0u: { r = a + b; }
    case 1u: { r = a - b; }
    case 2u: { r = a * b; }
    default: { r = a / b; }
  }
  bout[i] = r;
}

// Same shapes (BROADCAST 0), 4 elements per invocation.
@group(0) @binding(0) var<storage, read> ba4: array<vec4f>;
@group(0) @binding(1) var<storage, read> bb4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> bout4: array<vec4f>;
@group(0) @binding(3) var<uniform> bp4: BinaryParams;

@compute @workgroup_size(WG_X)
fn binary_vec4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let q = linear_index(lid, wid, nwg);
  let i = 4u * q;
  if (i >= bp4.n) { return; }
  let a = ba4[q];
  let b = bb4[q];
  var r: vec4f;
  switch OP {
    case 0u: { r = a + b; }
    case 1u: { r = a - b; }
    case 2u: { r = a * b; }
    default: { r = a / b; }
  }
  if (i + 4u <= bp4.n) { bout4[q] = r; return; }
  bout4[q].x = r.x;
  if (i + 1u < bp4.n) { bout4[q].y = r.y; }
  if (i + 2u < bp4.n) { bout4[q].z = r.z; }
}

// ---- accumulate: dst += src (same size) ---------------------------------------

struct AccumulateParams { n: u32 }
@group(0) @binding(0) var<storage, read_write> acc_dst: array<vec4f>;
@group(0) @binding(1) var<storage, read> acc_src: array<vec4f>;
@group(0) @binding(2) var<uniform> ap: AccumulateParams;

@compute @workgroup_size(WG_X)
fn accumulate(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let q = linear_index(lid, wid, nwg);
  let i = 4u * q;
  if (i >= ap.n) { return; }
  let r = acc_dst[q] + acc_src[q];
  if (i + 4u <= ap.n) { acc_dst[q] = r; return; }
  acc_dst[q].x = r.x;
  if (i + 1u < ap.n) { acc_dst[q].y = r.y; }
  if (i + 2u < ap.n) { acc_dst[q].z = r.z; }
}

// ---- accumulate_many: dst[at_j + e] += src_j[e] for up to 8 pairs -------------
// Backward adds every parameter's gradient into its slice of the optimizer's
// gradient arena; one dispatch per parameter costs ~45 µs of fixed overhead
// on llvmpipe. Here one dispatch serves up to 8 pairs that share a
// destination buffer: invocation q takes vec4 q − first_j of pair j, the last
// pair with first_j ≤ q (pairs laid end to end), so neighbouring lanes
// nearly always read the same source binding. Offsets and counts are in
// vec4s and elements; every slice starts on a vec4.

struct ManyParams { first: array<vec4u, 2>, at: array<vec4u, 2>, n: array<vec4u, 2>, total: u32 }
@group(0) @binding(0) var<storage, read_write> many_dst: array<vec4f>;
@group(0) @binding(1) var<storage, read> many0: array<vec4f>;
@group(0) @binding(2) var<storage, read> many1: array<vec4f>;
@group(0) @binding(3) var<storage, read> many2: array<vec4f>;
@group(0) @binding(4) var<storage, read> many3: array<vec4f>;
@group(0) @binding(5) var<storage, read> many4: array<vec4f>;
@group(0) @binding(6) var<storage, read> many5: array<vec4f>;
@group(0) @binding(7) var<storage, read> many6: array<vec4f>;
@group(0) @binding(8) var<storage, read> many7: array<vec4f>;
@group(0) @binding(9) var<uniform> mp: ManyParams;

fn many_src(j: u32, q: u32) -> vec4f {
  switch j {
    case 0u: { return many0[q]; }
    case 1u: { return many1[q]; }
    case 2u: { return many2[q]; }
    case 3u: { return many3[q]; }
    case 4u: { return many4[q]; }
    case 5u: { return many5[q]; }
    case 6u: { return many6[q]; }
    default: { return many7[q]; }
  }
}

@compute @workgroup_size(WG_X)
fn accumulate_many(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let g = linear_index(lid, wid, nwg);
  if (g >= mp.total) { return; }
  var j = 0u;
  for (var k = 1u; k < 8u; k++) {
    if (g >= mp.first[k / 4u][k % 4u]) { j = k; }
  }
  let q = g - mp.first[j / 4u][j % 4u];
  let n = mp.n[j / 4u][j % 4u];
  let i = 4u * q;
  let d = mp.at[j / 4u][j % 4u] + q;
  let r = many_dst[d] + many_src(j, q);
  if (i + 4u <= n) { many_dst[d] = r; return; }
  many_dst[d].x = r.x;
  if (i + 1u < n) { many_dst[d].y = r.y; }
  if (i + 2u < n) { many_dst[d].z = r.z; }
}
