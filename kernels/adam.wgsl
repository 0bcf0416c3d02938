// Adam (PyTorch torch.optim.Adam, L2 weight decay added to the gradient) over
// a whole parameter arena at once: every parameter's values, gradients and
// moments sit at the same offsets of four flat buffers, so one dispatch
// updates all of them. The gaps between parameters hold p = g = m = v = 0 and
// an update of exactly 0, so they need no masking.
//
// The arena length is a multiple of 4 (each parameter starts on a
// minStorageBufferOffsetAlignment boundary), so each invocation updates one vec4.
//
// Scalars derived from the hyperparameters come computed in float64 on the
// CPU, as PyTorch computes them in Python: 1 − β2 from an f32 β2 = 0.999 is
// off by 1.3e-5 relative, and β^t in f32 loses digits as t grows.


struct Params {
  n4: u32,                  // arena length in vec4s
  step_size: f32,           // lr / bias_correction1
  inv_sqrt_bc2: f32,        // 1 / sqrt(bias_correction2)
  beta1: f32,
  beta2: f32,
  one_minus_beta1: f32,
  one_minus_beta2: f32,
  eps: f32,
  weight_decay: f32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> param: array<vec4f>;
@group(0) @binding(1) var<storage, read> grad: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> exp_avg: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> exp_avg_sq: array<vec4f>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG_X)
fn step(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.x + wid.y * nwg.x) * WG_X + lid;
  if (i >= p.n4) { return; }
  let x = param[i];
  let g = grad[i] + p.weight_decay * x;
  let m = p.beta1 * exp_avg[i] + p.one_minus_beta1 * g;
  let v = p.beta2 * exp_avg_sq[i] + p.one_minus_beta2 * g * g;
  exp_avg[i] = m;
  exp_avg_sq[i] = v;
  param[i] = x - p.step_size * m / (sqrt(v) * p.inv_sqrt_bc2 + p.eps);
}
