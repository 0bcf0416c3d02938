// Block copies along one axis, for cat and slice. Any tensor viewed as
// [outer, extent, inner] around the chosen axis; a block is `count` indices
// of that axis, so one launch moves outer·count·inner elements.


struct Params {
  n: u32,          // invocations: block elements (copy_block) or dst elements (embed_block)
  count: u32,      // block length along the axis
  inner: u32,      // elements per axis index
  src_extent: u32,
  src_start: u32,  // block start along the axis in src
  dst_extent: u32,
  dst_start: u32,  // block start along the axis in dst
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

// Writes only the block in dst (cat writes each input's block in turn; slice's block is all of dst).
@compute @workgroup_size(WG_X)
fn copy_block(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(lid, wid, nwg);
  if (i >= p.n) { return; }
  let block = p.count * p.inner;
  let o = i / block;
  let rest = i % block;
  dst[(o * p.dst_extent + p.dst_start) * p.inner + rest] = src[(o * p.src_extent + p.src_start) * p.inner + rest];
}

// Writes all of dst: the block from src, zeros elsewhere (slice's gradient).
@compute @workgroup_size(WG_X)
fn embed_block(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(lid, wid, nwg);
  if (i >= p.n) { return; }
  let within = i % p.inner;
  let index = (i / p.inner) % p.dst_extent;
  let o = i / (p.inner * p.dst_extent);
  var v = 0.0;
  if (index >= p.dst_start && index < p.dst_start + p.count) {
    v = src[(o * p.src_extent + p.src_start + index - p.dst_start) * p.inner + within];
  }
  dst[i] = v;
}
