// Sum over any set of axes: out[o] = scale · Σ_r in[base(o) + offset(r)].
//
// The launcher collapses the input into "kept" axes (which index the output)
// and "reduced" axes, each with its own element strides, so one kernel serves
// sum-all, per-channel sums and the broadcast-gradient reductions.
//
// A long reduction is split across S workgroups (split-K style): workgroup
// (o, s) sums its chunk of r with a tree in workgroup memory and writes
// partial[o·S + s]; a second launch of the same kernel sums the S partials.


struct Params {
  outputs: u32,      // O
  reduced: u32,      // R
  splits: u32,       // S
  chunk: u32,        // reduced elements per split
  kept_rank: u32,
  red_rank: u32,
  scale: f32,
  _pad: u32,
  kept_shape: vec4u,
  kept_stride: vec4u,
  red_shape: vec4u,
  red_stride: vec4u,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> partial: array<f32, WG_X>;

fn offset_of(index: u32, rank: u32, shape: vec4u, stride: vec4u) -> u32 {
  var rest = index;
  var off = 0u;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let e = shape[d];
    off += (rest % e) * stride[d];
    rest = rest / e;
  }
  return off;
}

@compute @workgroup_size(WG_X)
fn sum(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let g = wid.x + wid.y * nwg.x;
  let o = g / p.splits;
  let s = g % p.splits;
  var acc = 0.0;
  if (o < p.outputs) {
    let base = offset_of(o, p.kept_rank, p.kept_shape, p.kept_stride);
    let begin = s * p.chunk;
    let end = min(p.reduced, begin + p.chunk);
    if (p.red_rank == 1u && p.red_stride.x == 1u) {
      for (var r = begin + lid; r < end; r += WG_X) { acc += src[base + r]; }
    } else {
      for (var r = begin + lid; r < end; r += WG_X) {
        acc += src[base + offset_of(r, p.red_rank, p.red_shape, p.red_stride)];
      }
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var width = WG_X / 2u; width > 0u; width = width / 2u) {
    if (lid < width) { partial[lid] += partial[lid + width]; }
    workgroupBarrier();
  }
  if (lid == 0u && o < p.outputs) { dst[g] = partial[0] * p.scale; }
}
