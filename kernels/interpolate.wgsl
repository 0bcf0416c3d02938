// Bilinear resize with align_corners=False (PyTorch F.interpolate), and its
// gradient in gather form.
//
// Along an axis of input size I and output size O, with scale = I/O:
//   src = max(0, (dst + 0.5)·scale − 0.5), i0 = floor(src),
//   i1 = min(i0 + 1, I − 1), λ = src − i0,
//   out = (1 − λ)·x[i0] + λ·x[i1]        (separably in H and W).
// WGSL has no f32 atomics, so the backward cannot scatter: each input pixel
// instead visits a conservative range of outputs (from the inverse map) and
// recomputes their taps with the forward's own `source_tap`, so the weights
// it collects are exactly the ones the forward used.


struct Params {
  n: u32,           // invocations: output elements (forward) or input elements (backward)
  in_h: u32,
  in_w: u32,
  out_h: u32,
  out_w: u32,
  scale_h: f32,     // in_h / out_h
  scale_w: f32,
  inv_scale_h: f32, // out_h / in_h
  inv_scale_w: f32,
}

struct Tap {
  i0: u32,
  i1: u32,
  lambda: f32,
}

fn source_tap(dst: u32, scale: f32, size_in: u32) -> Tap {
  let src = max(0.0, (f32(dst) + 0.5) * scale - 0.5);
  // floor(src) ≤ I − 1 in exact arithmetic; the min only guards rounding.
  let i0 = min(u32(floor(src)), size_in - 1u);
  let i1 = min(i0 + 1u, size_in - 1u);
  return Tap(i0, i1, src - f32(i0));
}

// ---- forward: one invocation per output element ----------------------------

@group(0) @binding(0) var<storage, read> fx: array<f32>;
@group(0) @binding(1) var<storage, read_write> fy: array<f32>;
@group(0) @binding(2) var<uniform> fp: Params;

@compute @workgroup_size(WG_X)
fn forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(lid, wid, nwg);
  if (i >= fp.n) { return; }
  let ox = i % fp.out_w;
  let oy = (i / fp.out_w) % fp.out_h;
  let plane = i / (fp.out_w * fp.out_h);
  let ty = source_tap(oy, fp.scale_h, fp.in_h);
  let tx = source_tap(ox, fp.scale_w, fp.in_w);
  let row0 = (plane * fp.in_h + ty.i0) * fp.in_w;
  let row1 = (plane * fp.in_h + ty.i1) * fp.in_w;
  let top = (1.0 - tx.lambda) * fx[row0 + tx.i0] + tx.lambda * fx[row0 + tx.i1];
  let bottom = (1.0 - tx.lambda) * fx[row1 + tx.i0] + tx.lambda * fx[row1 + tx.i1];
  fy[i] = (1.0 - ty.lambda) * top + ty.lambda * bottom;
}

// ---- backward: one invocation per input element -----------------------------

@group(0) @binding(0) var<storage, read> bdy: array<f32>;
@group(0) @binding(1) var<storage, read_write> bdx: array<f32>;
@group(0) @binding(2) var<uniform> bp: Params;

/** The weight input `index` gets from an output whose tap is `t` (both taps when i0 = i1 at the edge). */
fn tap_weight(t: Tap, index: u32) -> f32 {
  var w = 0.0;
  if (t.i0 == index) { w += 1.0 - t.lambda; }
  if (t.i1 == index) { w += t.lambda; }
  return w;
}

/**
 * Inclusive range of outputs that may read input `index`: those whose src
 * lies in [index − 1, index + 1), widened by one on each side so f32
 * rounding of the inverse map never drops one. Extra outputs get weight 0.
 */
fn output_range(index: u32, inv_scale: f32, size_out: u32) -> vec2u {
  let lo = floor((f32(index) - 0.5) * inv_scale - 0.5) - 1.0;
  let hi = ceil((f32(index) + 1.5) * inv_scale - 0.5) + 1.0;
  return vec2u(u32(max(lo, 0.0)), u32(clamp(hi, 0.0, f32(size_out - 1u))));
}

@compute @workgroup_size(WG_X)
fn backward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(lid, wid, nwg);
  if (i >= bp.n) { return; }
  let ix = i % bp.in_w;
  let iy = (i / bp.in_w) % bp.in_h;
  let plane = i / (bp.in_w * bp.in_h);
  let rows = output_range(iy, bp.inv_scale_h, bp.out_h);
  let cols = output_range(ix, bp.inv_scale_w, bp.out_w);
  var acc = 0.0;
  for (var oy = rows.x; oy <= rows.y; oy++) {
    let wy = tap_weight(source_tap(oy, bp.scale_h, bp.in_h), iy);
    if (wy == 0.0) { continue; }
    let row = (plane * bp.out_h + oy) * bp.out_w;
    var row_acc = 0.0;
    for (var ox = cols.x; ox <= cols.y; ox++) {
      row_acc += tap_weight(source_tap(ox, bp.scale_w, bp.in_w), ix) * bdy[row + ox];
    }
    acc += wy * row_acc;
  }
  bdx[i] = acc;
}
