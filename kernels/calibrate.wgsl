// Device-peak calibration for the benchmarks (bench/calibrate.ts): what this
// adapter can do at best, so every kernel can be reported as a share of it.
//
// fma: compute-bound. Each invocation runs CHAINS independent vec4 FMA chains
// (enough independent work to hide the FMA latency), 4 steps per loop trip so
// the loop overhead is small. The factors come from the uniform struct, so the
// compiler cannot fold the loop away, and the chains are summed into dst so it
// cannot drop them. FLOPs = invocations · iters · 8 chains · 4 steps · 4 lanes · 2.
//
// copy: bandwidth-bound. One vec4 read and one vec4 write per invocation.


struct Params {
  iters: u32,  // fma: loop trips per invocation
  n: u32,      // copy: vec4s to copy; fma: invocations that write
  _pad0: u32,
  _pad1: u32,
  factor: vec4f,
  offset: vec4f,
}

@group(0) @binding(0) var<storage, read> src: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4f>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG_X)
fn fma_peak(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(lid, wid, nwg);
  let m = p.factor;
  let c = p.offset;
  let seed = vec4f(f32(i & 255u)) * 1e-3;
  var a0 = seed + 0.1;
  var a1 = seed + 0.2;
  var a2 = seed + 0.3;
  var a3 = seed + 0.4;
  var a4 = seed + 0.5;
  var a5 = seed + 0.6;
  var a6 = seed + 0.7;
  var a7 = seed + 0.8;
  for (var k = 0u; k < p.iters; k++) {
    a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
    a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
    a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
    a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
    a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
    a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
    a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
    a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
  }
  if (i < p.n) {
    dst[i] = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
  }
}

@compute @workgroup_size(WG_X)
fn copy_peak(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(lid, wid, nwg);
  if (i < p.n) {
    dst[i] = src[i];
  }
}
