// Pixel shuffle and its inverse: one index permutation, walked in either
// direction. The "small" tensor is [N, C·r², H, W] and the "big" one is
// [N, C, H·r, W·r], with big[c, r·h+i, r·w+j] = small[r²·c + r·i + j, h, w]
// (PyTorch's order). Each invocation owns one element of the big tensor, so
// both directions write every output exactly once.

// 0: shuffle (src is small, dst is big). 1: unshuffle (src is big, dst is small).
override UNSHUFFLE: u32 = 0;

struct Params {
  n: u32,       // elements in either tensor
  height: u32,  // H of the small tensor
  width: u32,   // W of the small tensor
  r: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG_X)
fn pixel_shuffle(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let big = (wid.x + wid.y * nwg.x) * WG_X + lid;
  if (big >= p.n) { return; }
  let big_w = p.width * p.r;
  let big_h = p.height * p.r;
  let x = big % big_w;
  let y = (big / big_w) % big_h;
  let image_channel = big / (big_w * big_h);  // n·C + c
  let small_channel = (image_channel * p.r + y % p.r) * p.r + x % p.r;
  let small = (small_channel * p.height + y / p.r) * p.width + x / p.r;
  if (UNSHUFFLE == 0u) {
    dst[big] = src[small];
  } else {
    dst[small] = src[big];
  }
}
