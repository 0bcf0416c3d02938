// Row softmax over the innermost axis: y = softmax(scale·x), and its gradient
// dx = scale · y ⊙ (dy − Σ dy ⊙ y).
//
// One workgroup per row (rows folded into 2-D past 65,535 workgroups); the
// invocations stride along the row and combine with a tree in workgroup
// memory. Stable: exp(scale·x − max(scale·x)) never overflows. With scale < 0
// (ALFM's softmax(−E)) the max of scale·x is −scale times the row minimum of x.

// WG_X is a power of two (tree reduction).

struct Params {
  rows: u32,
  cols: u32,
  scale: f32,
}

var<workgroup> scratch: array<f32, WG_X>;

fn reduce_max(v: f32, lid: u32) -> f32 {
  scratch[lid] = v;
  workgroupBarrier();
  for (var width = WG_X / 2u; width > 0u; width = width / 2u) {
    if (lid < width) { scratch[lid] = max(scratch[lid], scratch[lid + width]); }
    workgroupBarrier();
  }
  let r = scratch[0];
  // Everyone has read the result before scratch is reused.
  workgroupBarrier();
  return r;
}

fn reduce_sum(v: f32, lid: u32) -> f32 {
  scratch[lid] = v;
  workgroupBarrier();
  for (var width = WG_X / 2u; width > 0u; width = width / 2u) {
    if (lid < width) { scratch[lid] += scratch[lid + width]; }
    workgroupBarrier();
  }
  let r = scratch[0];
  workgroupBarrier();
  return r;
}

// ---- forward --------------------------------------------------------------------

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG_X)
fn forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  // Element 0 seeds every invocation's max, so no −∞ literal is needed.
  var m = p.scale * x[base];
  for (var i = lid; i < p.cols; i += WG_X) { m = max(m, p.scale * x[base + i]); }
  m = reduce_max(m, lid);
  var s = 0.0;
  for (var i = lid; i < p.cols; i += WG_X) { s += exp(p.scale * x[base + i] - m); }
  s = reduce_sum(s, lid);
  let inv = 1.0 / s;
  for (var i = lid; i < p.cols; i += WG_X) { y[base + i] = exp(p.scale * x[base + i] - m) * inv; }
}

// ---- backward (saves the output y) ------------------------------------------------

@group(0) @binding(0) var<storage, read> by: array<f32>;
@group(0) @binding(1) var<storage, read> bdy: array<f32>;
@group(0) @binding(2) var<storage, read_write> bdx: array<f32>;
@group(0) @binding(3) var<uniform> bp: Params;

@compute @workgroup_size(WG_X)
fn backward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= bp.rows) { return; }
  let base = row * bp.cols;
  var d = 0.0;
  for (var i = lid; i < bp.cols; i += WG_X) { d += bdy[base + i] * by[base + i]; }
  d = reduce_sum(d, lid);
  for (var i = lid; i < bp.cols; i += WG_X) { bdx[base + i] = bp.scale * by[base + i] * (bdy[base + i] - d); }
}
