// Elementwise kernels: fill, unary activations and their gradients,
// broadcasting binary arithmetic, and in-place accumulation (grad += g).
//
// One invocation per element. Dispatches are folded into 2-D when they exceed
// 65,535 workgroups, so the linear index is rebuilt from workgroup_id and
// num_workgroups (see groups1d in engine/kernel.ts).

override WG_X: u32 = 256;
override WG_Y: u32 = 1;
override WG_Z: u32 = 1;
// Which function: see UNARY_* / BINARY_* in kernels/elementwise.ts.
override OP: u32 = 0;
// 0: all operands have the output's shape (no index arithmetic). 1: broadcast through strides.
override BROADCAST: u32 = 0;

fn linear_index(lid: u32, wid: vec3u, nwg: vec3u) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG_X + lid;
}

// ---- fill ----------------------------------------------------------------

struct FillParams { n: u32, value: f32 }
@group(0) @binding(0) var<storage, read_write> fill_out: array<f32>;
@group(0) @binding(1) var<uniform> fp: FillParams;

@compute @workgroup_size(WG_X)
fn fill(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(lid, wid, nwg);
  if (i < fp.n) { fill_out[i] = fp.value; }
}

// ---- unary: y = f(x), and dx = dy * f'(x) ------------------------------------
// OP 0 relu, 1 leaky relu (slope a), 2 sigmoid, 3 affine a*x + b, 4 square.

struct UnaryParams { n: u32, a: f32, b: f32 }
@group(0) @binding(0) var<storage, read> ux: array<f32>;
@group(0) @binding(1) var<storage, read_write> uy: array<f32>;
@group(0) @binding(2) var<uniform> up: UnaryParams;

fn unary_f(x: f32) -> f32 {
  switch OP {
    case 0u: { return max(x, 0.0); }
    case 1u: { return select(up.a * x, x, x > 0.0); }
    case 2u: { return 1.0 / (1.0 + exp(-x)); }
    case 3u: { return up.a * x + up.b; }
    default: { return x * x; }
  }
}

@compute @workgroup_size(WG_X)
fn unary(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(lid, wid, nwg);
  if (i < up.n) { uy[i] = unary_f(ux[i]); }
}

// `saved` is the forward input x, except for sigmoid where it is the output y
// (y·(1−y) needs no exp and is what PyTorch saves too).
@group(0) @binding(0) var<storage, read> ub_saved: array<f32>;
@group(0) @binding(1) var<storage, read> ub_dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> ub_dx: array<f32>;
@group(0) @binding(3) var<uniform> ubp: UnaryParams;

@compute @workgroup_size(WG_X)
fn unary_backward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(lid, wid, nwg);
  if (i >= ubp.n) { return; }
  let s = ub_saved[i];
  let g = ub_dy[i];
  var d: f32;
  switch OP {
    case 0u: { d = select(0.0, g, s > 0.0); }
    case 1u: { d = select(ubp.a * g, g, s > 0.0); }
    case 2u: { d = g * s * (1.0 - s); }
    case 3u: { d = ubp.a * g; }
    default: { d = 2.0 * s * g; }
  }
  ub_dx[i] = d;
}

// ---- binary with broadcasting: out = a (op) b ----------------------------------
// OP 0 add, 1 sub, 2 mul, 3 div. Up to rank 8: out shape and per-operand
// element strides (0 along broadcast axes), innermost axis last.

struct BinaryParams {
  n: u32,
  rank: u32,
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

// ---- accumulate: dst += src (same size) ---------------------------------------

struct AccumulateParams { n: u32 }
@group(0) @binding(0) var<storage, read_write> acc_dst: array<f32>;
@group(0) @binding(1) var<storage, read> acc_src: array<f32>;
@group(0) @binding(2) var<uniform> ap: AccumulateParams;

@compute @workgroup_size(WG_X)
fn accumulate(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(lid, wid, nwg);
  if (i < ap.n) { acc_dst[i] += acc_src[i]; }
}
