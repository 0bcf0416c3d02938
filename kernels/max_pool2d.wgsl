// 2-D max-pool without padding (floor mode) and its gradient in gather form.
//
// Ties go to the first maximum in row-major window order, as in PyTorch. The
// forward also writes each window's argmax as its offset ky·k + kx inside the
// window (a small integer, exact in f32, so it fits a float tensor; it costs
// one write per output, a fraction of the input reads). The
// backward, with no f32 atomics to scatter with, runs one invocation per
// input pixel and sums the gradients of the windows whose argmax it is.


struct Params {
  n: u32,       // invocations: output elements (forward) or input elements (backward)
  in_h: u32,
  in_w: u32,
  out_h: u32,
  out_w: u32,
  kernel: u32,
  stride: u32,
}

// ---- forward: one invocation per output element ----------------------------

@group(0) @binding(0) var<storage, read> px: array<f32>;
@group(0) @binding(1) var<storage, read_write> py: array<f32>;
@group(0) @binding(2) var<storage, read_write> pargmax: array<f32>;
@group(0) @binding(3) var<uniform> pp: Params;

struct WindowMax {
  value: f32,
  offset: u32,
}

fn window_max(o: u32) -> WindowMax {
  let ox = o % pp.out_w;
  let oy = (o / pp.out_w) % pp.out_h;
  let plane = o / (pp.out_w * pp.out_h);
  let corner = (plane * pp.in_h + oy * pp.stride) * pp.in_w + ox * pp.stride;
  var best = WindowMax(px[corner], 0u);
  for (var ky = 0u; ky < pp.kernel; ky++) {
    for (var kx = 0u; kx < pp.kernel; kx++) {
      let v = px[corner + ky * pp.in_w + kx];
      // Strictly greater: the first maximum wins ties.
      if (v > best.value) { best = WindowMax(v, ky * pp.kernel + kx); }
    }
  }
  return best;
}

@compute @workgroup_size(WG_X)
fn forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = linear_index(lid, wid, nwg);
  if (o >= pp.n) { return; }
  let best = window_max(o);
  py[o] = best.value;
  pargmax[o] = f32(best.offset);
}

// ---- backward: one invocation per input element -----------------------------

@group(0) @binding(0) var<storage, read> bargmax: array<f32>;
@group(0) @binding(1) var<storage, read> bdy: array<f32>;
@group(0) @binding(2) var<storage, read_write> bdx: array<f32>;
@group(0) @binding(3) var<uniform> bp: Params;

/** Inclusive range of windows o along one axis with o·s ≤ index < o·s + k. */
fn window_range(index: u32, size_out: u32) -> vec2u {
  var lo = 0u;
  if (index + 1u > bp.kernel) { lo = (index + 1u - bp.kernel + bp.stride - 1u) / bp.stride; }
  return vec2u(lo, min(index / bp.stride, size_out - 1u));
}

@compute @workgroup_size(WG_X)
fn backward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(lid, wid, nwg);
  if (i >= bp.n) { return; }
  let ix = i % bp.in_w;
  let iy = (i / bp.in_w) % bp.in_h;
  let plane = i / (bp.in_w * bp.in_h);
  let rows = window_range(iy, bp.out_h);
  let cols = window_range(ix, bp.out_w);
  var acc = 0.0;
  for (var oy = rows.x; oy <= rows.y; oy++) {
    for (var ox = cols.x; ox <= cols.y; ox++) {
      let o = (plane * bp.out_h + oy) * bp.out_w + ox;
      let offset = (iy - oy * bp.stride) * bp.kernel + (ix - ox * bp.stride);
      if (u32(bargmax[o]) == offset) { acc += bdy[o]; }
    }
  }
  bdx[i] = acc;
}
