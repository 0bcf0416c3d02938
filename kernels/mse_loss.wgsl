// Mean squared error: the forward is a split reduction of (a − b)² (the
// pattern of reduce.wgsl: workgroup s sums its chunk with a tree in workgroup
// memory and writes partial[s]; reduce.sum then adds the partials), the
// backward one elementwise pass.


struct SumParams {
  n: u32,
  chunk: u32,   // elements per workgroup
  scale: f32,   // applied to each partial: 1/n when there is a single workgroup
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> sq_a: array<f32>;
@group(0) @binding(1) var<storage, read> sq_b: array<f32>;
@group(0) @binding(2) var<storage, read_write> sq_partial: array<f32>;
@group(0) @binding(3) var<uniform> sp: SumParams;

var<workgroup> tree: array<f32, WG_X>;

@compute @workgroup_size(WG_X)
fn squared_error_sum(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let begin = wid.x * sp.chunk;
  let end = min(sp.n, begin + sp.chunk);
  var acc = 0.0;
  for (var i = begin + lid; i < end; i += WG_X) {
    let d = sq_a[i] - sq_b[i];
    acc += d * d;
  }
  tree[lid] = acc;
  workgroupBarrier();
  for (var width = WG_X / 2u; width > 0u; width = width / 2u) {
    if (lid < width) { tree[lid] += tree[lid + width]; }
    workgroupBarrier();
  }
  if (lid == 0u) { sq_partial[wid.x] = tree[0] * sp.scale; }
}

// d = scale · (a − b) · g[0], with scale = ±2/n (+ for the input, − for the target).

struct BackwardParams { n: u32, scale: f32 }

@group(0) @binding(0) var<storage, read> bw_a: array<f32>;
@group(0) @binding(1) var<storage, read> bw_b: array<f32>;
@group(0) @binding(2) var<storage, read> bw_g: array<f32>;
@group(0) @binding(3) var<storage, read_write> bw_d: array<f32>;
@group(0) @binding(4) var<uniform> bp: BackwardParams;

@compute @workgroup_size(WG_X)
fn mse_backward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.x + wid.y * nwg.x) * WG_X + lid;
  if (i < bp.n) { bw_d[i] = bp.scale * (bw_a[i] - bw_b[i]) * bw_g[0]; }
}
