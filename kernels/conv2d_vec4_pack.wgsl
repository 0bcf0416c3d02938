// The vec4 conv family's helper kernels (conv2d_vec4.wgsl): pack_weights, before
// a forward or input gradient, and sum_splits, after a split weight gradient.

// pack_weights: the input-gradient packing ([o][tap][c], kernel flipped).
override INPUT_GRAD: bool = false;

// ---- pack_weights ----------------------------------------------------------
// forward: packed[(c·T + tap)·G + o] = w[o,c,tap];
// input_grad: packed[(o·T + tap)·G + c] = w[o,c,T−1−tap], T = taps.
// Invocation r = k·T + tap writes packed row r (G values, as vec4s): one
// division per row rather than three per element.

@group(0) @binding(0) var<storage, read> pk_w: array<f32>;
@group(0) @binding(1) var<storage, read_write> pk_out: array<vec4f>;
@group(0) @binding(2) var<uniform> pkp: Params;

fn packed_value(k: u32, tap: u32, g: u32) -> f32 {
  if (INPUT_GRAD) {
    if (g >= pkp.g.in_channels) { return 0.0; }
    return pk_w[(k * pkp.g.in_channels + g) * pkp.taps + pkp.taps - 1u - tap];
  }
  if (g >= pkp.g.out_channels) { return 0.0; }
  return pk_w[(g * pkp.g.in_channels + k) * pkp.taps + tap];
}

@compute @workgroup_size(WG_X)
fn pack_weights(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = linear_index(lid, wid, nwg);
  if (r >= pkp.invocations) { return; }
  let tap = r % pkp.taps;
  let k = r / pkp.taps;
  let groups = pkp.packed / 4u;
  for (var q = 0u; q < groups; q++) {
    let g = 4u * q;
    pk_out[r * groups + q] = vec4f(packed_value(k, tap, g), packed_value(k, tap, g + 1u), packed_value(k, tap, g + 2u), packed_value(k, tap, g + 3u));
  }
}

// ---- sum_splits: dw[i] = Σ_s partial[i·splits + s], db likewise -----------------

@group(0) @binding(0) var<storage, read> ss_partial: array<f32>;
@group(0) @binding(1) var<storage, read> ss_bias_partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> ss_dw: array<f32>;
@group(0) @binding(3) var<storage, read_write> ss_db: array<f32>;
@group(0) @binding(4) var<uniform> ssp: Params;

@compute @workgroup_size(WG_X)
fn sum_splits(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(lid, wid, nwg);
  if (i >= ssp.invocations) { return; }
  var total = 0.0;
  if (i < ssp.weights) {
    for (var s = 0u; s < ssp.splits; s++) { total += ss_partial[i * ssp.splits + s]; }
    ss_dw[i] = total;
  } else {
    let o = i - ssp.weights;
    for (var s = 0u; s < ssp.splits; s++) { total += ss_bias_partial[o * ssp.splits + s]; }
    ss_db[o] = total;
  }
}
