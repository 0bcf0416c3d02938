// Convolutions on vec4 rows and packed weights, the fast paths of conv2d:
// 3×3 with padding 1 and stride 1 or 2 on rows whose widths are multiples
// of 4, and 1×1 (stride 1, no padding) on planes whose size H·W is a
// multiple of 4 — every conv of LMFN but ESA's small-map ones. Forward,
// input gradient and weight gradient (with the bias gradient fused in); see
// convVec4Applies in conv2d_vec4.ts. Everything else runs through conv2d.wgsl.
//
// The family's files: this one holds what its kernels share (the parameter
// struct, the accumulators, the forward and weight-gradient bindings);
// conv2d_vec4_3x3.wgsl, conv2d_vec4_1x1.wgsl and conv2d_vec4_pack.wgsl
// (the weight repacking and the split sums) hold the entry points, and
// conv2d_vec4.ts builds each from its own file and this one.
//
// Why a second conv family: on llvmpipe a storage-buffer load costs one
// bounds-checked scalar load per lane, as much as dozens of multiply-adds,
// and a vec4 load costs hardly more than a scalar one; and a variable
// carried around a loop costs a masked store per write. conv2d.wgsl loads
// every input pixel once per tap and every weight as a scalar. Here:
// - an input row is read as a window of aligned vec4s, once per kernel row;
//   the three taps' pixels are picked out of it by swizzles (free: each
//   component is its own register per lane);
// - the weights are first repacked (pack_weights, a tiny dispatch) so that
//   the weights of 8 consecutive output channels for one (channel, tap) are
//   two aligned vec4s;
// - blocks are large (8 rows × 8 pixels × 8 channels in the 3×3 forward) and
//   every accumulator takes several products per write.
// That is ~4× fewer loads per multiply-add than conv2d.wgsl; the vec4
// accumulators stay named struct members (Mesa keeps indexed arrays in
// memory; struct members become registers).
//
// Layouts: x, y, dy NCHW; packed weights [K][taps][G] with G the packed
// channel count rounded up to 8 (zeros past the real channels) and K the
// other channel axis: forward packs w[o,c,tap] at [c][tap][o]; input_grad
// packs w[o,c,taps−1−tap] at [o][tap][c] (the kernel flipped), which makes the
// stride-1 input gradient the forward kernel run on dy.
//
// Edges: vec4 groups of a window outside the row, and rows outside the image,
// read index 0 and are masked to 0 (the zero padding); channels past the last
// compute on clamped indices and are not stored, nor are pixels past the row.

// Compiling these kernels is what costs on llvmpipe (seconds per pipeline,
// cold), so they are specialised only where the code's shape differs: STRIDE
// and INPUT_GRAD. The epilogue and the bias are uniforms (Params), and the
// weight-gradient block is fixed at OQ × CB (smaller layers run masked lanes).

// forward: end the epilogue with a sigmoid. A constant, not a uniform: its
// exp, inlined into every store, cost more compile time than a second
// pipeline for the one LMFN layer that uses it (ESA's 1×1 mask).
override SIGMOID: bool = false;
// weight_grad: output-channel quads and (3×3) input channels per invocation.
const OQ: u32 = 4u;

struct Params {
  // The conv's sizes (conv2d_params.wgsl; kernel, stride and padding unused here).
  @size(64) g: ConvGeometry,
  // Packed channel count G (a multiple of 8).
  packed: u32,
  // Number of live invocations (the dispatch is rounded up to whole workgroups).
  invocations: u32,
  // Channel blocks (weight_grad: output-channel blocks), row blocks, and
  // pixel blocks per row (weight_grad: input-channel blocks).
  blocks_c: u32,
  blocks_h: u32,
  blocks_w: u32,
  // weight_grad: slices of the reduction (3×3: the N·Ho output rows; 1×1: the
  // pairs of pixel groups), and rows (pairs) per slice.
  splits: u32,
  rows_per_split: u32,
  // sum_splits: weight-gradient elements O·C·taps (bias gradient elements follow).
  weights: u32,
  // pack_weights: kernel taps kH·kW (9 or 1).
  taps: u32,
  // forward: add the bias binding, then the residual binding, then the activation
  // (epilogue.wgsl's activate4_flat). weight_grad: also sum dy into the bias gradient.
  has_bias: u32,
  has_residual: u32,
  slope: f32,
  _pad: u32,
}

// 8 channels × 4 pixels (weight_grad1x1: 8 input channels × an output-channel quad).
struct Acc8 { c0: vec4f, c1: vec4f, c2: vec4f, c3: vec4f, c4: vec4f, c5: vec4f, c6: vec4f, c7: vec4f }

// ---- forward bindings and epilogue (forward3x3 and forward1x1) --------------

// The conv input, at binding 0 of every entry point below that reads it as
// vec4 rows (forward3x3 also reads dy through it: the stride-1 input gradient).
@group(0) @binding(0) var<storage, read> cv_x: array<vec4f>;
@group(0) @binding(1) var<storage, read> fw_w: array<vec4f>;
@group(0) @binding(2) var<storage, read> fw_bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> fw_y: array<vec4f>;
@group(0) @binding(4) var<storage, read> fw_residual: array<vec4f>;
@group(0) @binding(5) var<uniform> fp: Params;

// Rows are whole vec4s (out_w % 4 = 0, blocks start at multiples of 8), so
// each channel's 4 pixels are stored as one vec4 with the epilogue applied
// once. 8 such stores are inlined per invocation, and what they hold is code
// the compiler sees 8 times: the epilogue is branch-free (the bias and the
// residual are always read, and selected). On Mesa 25's lavapipe, cold, this
// kernel compiled in 24.5 s with a switch on the activation, 17.5 s with
// this epilogue and the sigmoid's exp, 11.5 s without the exp (SIGMOID).
// Bound to other buffers when absent, so always readable (at most clamped by robustness), and selected away.
fn epilogue(acc: vec4f, o: u32, at: u32) -> vec4f {
  let b = select(0.0, fw_bias[o], fp.has_bias != 0u);
  let r = select(vec4f(0.0), fw_residual[at], fp.has_residual != 0u);
  return activate4_flat(acc + b + r, fp.slope, SIGMOID);
}

// ---- weight-gradient bindings and dy quads (weight_grad3x3 and weight_grad1x1) ----
// x is cv_x, at binding 0.
@group(0) @binding(1) var<storage, read> wg_dy: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> wg_partial: array<f32>;
@group(0) @binding(3) var<storage, read_write> wg_bias_partial: array<f32>;
@group(0) @binding(4) var<uniform> wgp: Params;
// dy of one output channel for pixels 0..3 (a) and 4..7 (b) of the block.
struct DyPair { a: vec4f, b: vec4f }
struct DyQuad { o0: DyPair, o1: DyPair, o2: DyPair, o3: DyPair }

// The quad's 4 output channels' dy times the 8 pixels a tap reads (a: pixels 0..3, b: 4..7).
fn quad_dot(d: DyQuad, a: vec4f, b: vec4f) -> vec4f {
  return vec4f(dot(d.o0.a, a) + dot(d.o0.b, b), dot(d.o1.a, a) + dot(d.o1.b, b), dot(d.o2.a, a) + dot(d.o2.b, b), dot(d.o3.a, a) + dot(d.o3.b, b));
}

fn hsum(v: vec4f) -> f32 { return (v.x + v.y) + (v.z + v.w); }

fn quad_sums(d: DyQuad) -> vec4f {
  return vec4f(hsum(d.o0.a + d.o0.b), hsum(d.o1.a + d.o1.b), hsum(d.o2.a + d.o2.b), hsum(d.o3.a + d.o3.b));
}
