// Windows of image planes: replicate padding, cropping, zero padding (crop's
// gradient), and the gradient of replicate padding.
//
// `window` reads out[y, x] = in[y + offset_y, x + offset_x] per plane; where
// that falls outside the input, BORDER picks zero or the nearest edge pixel.
// A crop is a window inside the input, replicate padding is a window with
// negative offsets and BORDER 1, and crop's backward the same with BORDER 0.

// 0: zero outside the input. 1: replicate the nearest edge pixel.
override BORDER: u32 = 0;

struct Params {
  n: u32,        // invocations: elements of the window (forward) or of the padded op's input (backward)
  in_h: u32,
  in_w: u32,
  out_h: u32,
  out_w: u32,
  offset_y: i32, // window: input row of output row 0. replicate_pad_backward: the top pad
  offset_x: i32, // window: input column of output column 0. replicate_pad_backward: the left pad
}

// ---- window: one invocation per output element -----------------------------

@group(0) @binding(0) var<storage, read> window_src: array<f32>;
@group(0) @binding(1) var<storage, read_write> window_dst: array<f32>;
@group(0) @binding(2) var<uniform> wp: Params;

@compute @workgroup_size(WG_X)
fn window(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(lid, wid, nwg);
  if (i >= wp.n) { return; }
  let x = i32(i % wp.out_w) + wp.offset_x;
  let y = i32((i / wp.out_w) % wp.out_h) + wp.offset_y;
  let plane = i / (wp.out_w * wp.out_h);
  let h = i32(wp.in_h);
  let w = i32(wp.in_w);
  if (BORDER == 1u) {
    let sy = u32(clamp(y, 0, h - 1));
    let sx = u32(clamp(x, 0, w - 1));
    window_dst[i] = window_src[(plane * wp.in_h + sy) * wp.in_w + sx];
  } else if (y >= 0 && y < h && x >= 0 && x < w) {
    window_dst[i] = window_src[(plane * wp.in_h + u32(y)) * wp.in_w + u32(x)];
  } else {
    window_dst[i] = 0.0;
  }
}

// ---- replicate_pad_backward: one invocation per input element ----------------
// An edge pixel collects the gradient of every padded pixel that copied it;
// an interior pixel only its own. (A 1-pixel-wide input is both edges at once.)

@group(0) @binding(0) var<storage, read> bdy: array<f32>;
@group(0) @binding(1) var<storage, read_write> bdx: array<f32>;
@group(0) @binding(2) var<uniform> bp: Params;

/** Inclusive range of padded coordinates that replicate input coordinate `index`. */
fn padded_range(index: u32, pad_before: u32, size_in: u32, size_out: u32) -> vec2u {
  var lo = index + pad_before;
  var hi = lo;
  if (index == 0u) { lo = 0u; }
  if (index == size_in - 1u) { hi = size_out - 1u; }
  return vec2u(lo, hi);
}

@compute @workgroup_size(WG_X)
fn replicate_pad_backward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(lid, wid, nwg);
  if (i >= bp.n) { return; }
  let ix = i % bp.in_w;
  let iy = (i / bp.in_w) % bp.in_h;
  let plane = i / (bp.in_w * bp.in_h);
  let rows = padded_range(iy, u32(bp.offset_y), bp.in_h, bp.out_h);
  let cols = padded_range(ix, u32(bp.offset_x), bp.in_w, bp.out_w);
  var acc = 0.0;
  for (var y = rows.x; y <= rows.y; y++) {
    let row = (plane * bp.out_h + y) * bp.out_w;
    for (var x = cols.x; x <= cols.y; x++) { acc += bdy[row + x]; }
  }
  bdx[i] = acc;
}
