// 2-D convolution (PyTorch cross-correlation, zero padding, NCHW, weights
// OIHW) and its gradients as implicit GEMMs on workgroup-memory tiles: the
// family for discrete GPUs, where staging operands in workgroup memory and
// sharing them between invocations is what makes a GEMM fast (on llvmpipe,
// where workgroup memory is plain RAM and barriers are expensive,
// conv2d.wgsl / conv2d_vec4.wgsl are faster).
//
//   forward     C[o][p]    = Σ_k w[o][k] · x̂[k][p]    M = O, N = batch·Ho·Wo, K = C·kH·kW
//   input_grad  C[c][p]    = Σ_k ŵ[c][k] · d̂y[k][p]   M = C, N = batch·H·W/(sH·sW), K = O·kH·kW/(sH·sW)
//               (per stride phase, about; see input_grad)
//   weight_grad C[o][col]  = Σ_k dy[o][k] · x̂[k][col] M = O, N = C·kH·kW,    K = batch·Ho·Wo
// The hatted operands are never stored: each K slice of them is gathered
// straight from the tensors into workgroup memory (implicit im2col; taps in the
// zero padding read as 0).
//
// The tiles, their load/multiply scheme and the barrier discipline are
// gemm_tiles.wgsl's (prepended).
//
// Load mapping (why it is coalesced): the A slice is loaded as vec4s of 4
// consecutive k, consecutive invocations taking consecutive vec4s along k
// (weights of one output channel, or dy pixels, contiguous in memory). The B
// slice is loaded one column per invocation (t % TILE_N: an output pixel for
// forward / input_grad, a weight column for weight_grad), fixed for the whole
// K loop so its decomposition is computed once; consecutive invocations take
// consecutive columns (neighbouring pixels), and each walks B_LOADS
// consecutive k with an incremental (c, ky, kx) counter instead of a
// division per element.

// weight_grad: also sum dy into the bias gradient. (The forward reads fp.has_bias.)
override HAS_BIAS: bool = false;

struct Params {
  // The conv's sizes (conv2d_params.wgsl).
  @size(64) g: ConvGeometry,
  // The GEMM's sizes (see the table at the top).
  m: u32,
  n: u32,
  k: u32,
  // weight_grad: K values per split (a multiple of TILE_K), and the floats
  // of one split's partial sums: O·C·kH·kW weights, then O biases.
  chunk: u32,
  partial_stride: u32,
  // sum_splits: splits, weights, and elements to sum (weights [+ biases]).
  splits: u32,
  weights: u32,
  total: u32,
  // input_grad: the stride phase (see there): tap residues ry, rx, the first
  // dx row and column of the phase h0, w0, its taps kh × kw, its pixels hp × wp.
  phase_ry: u32,
  phase_rx: u32,
  phase_h0: u32,
  phase_w0: u32,
  phase_kh: u32,
  phase_kw: u32,
  phase_hp: u32,
  phase_wp: u32,
  // forward: the epilogue as run-time values (activate4_flat, epilogue.wgsl), so one
  // pipeline serves every bias/activation/residual combination instead of one each.
  has_bias: u32,
  has_residual: u32,
  slope: f32,
  sigmoid: u32,
}

// An (o|c, ky, kx) counter over k = (ch·kH + ky)·kW + kx, stepped without divisions.
struct Tap { ch: u32, ky: u32, kx: u32 }

fn tap_of(k: u32, kh: u32, kw: u32) -> Tap {
  let taps = kh * kw;
  return Tap(k / taps, k % taps / kw, k % kw);
}

fn next_tap(t: Tap, kh: u32, kw: u32) -> Tap {
  var r = t;
  r.kx++;
  if (r.kx == kw) {
    r.kx = 0u;
    r.ky++;
    if (r.ky == kh) { r.ky = 0u; r.ch++; }
  }
  return r;
}

// ---- forward: y = act(conv(x, w) + bias + residual) -------------------------------------------

@group(0) @binding(0) var<storage, read> f_x: array<f32>;
@group(0) @binding(1) var<storage, read> f_w: array<f32>;
@group(0) @binding(2) var<storage, read> f_bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> f_y: array<f32>;
@group(0) @binding(4) var<storage, read> f_residual: array<f32>;
@group(0) @binding(5) var<uniform> fp: Params;

// The output pixel a B column gathers for: where its receptive field starts.
struct ForwardColumn { inside: bool, x_image: u32, hi0: i32, wi0: i32 }

fn forward_column(pixel: u32) -> ForwardColumn {
  let out_plane = fp.g.out_h * fp.g.out_w;
  let n = min(pixel / out_plane, fp.g.batch - 1u);
  let r = pixel % out_plane;
  return ForwardColumn(
    pixel < fp.n,
    n * fp.g.in_channels * fp.g.in_h * fp.g.in_w,
    i32(r / fp.g.out_w * fp.g.stride_h) - i32(fp.g.pad_h),
    i32(r % fp.g.out_w * fp.g.stride_w) - i32(fp.g.pad_w),
  );
}

fn forward_load(t: u32, m0: u32, k0: u32, col: ForwardColumn) -> Slices {
  var s: Slices;
  for (var j = 0u; j < A_VEC4S; j++) {
    let o = m0 + a_row_of(t, j);
    let k = k0 + a_k_of(t, j);
    let base = o * fp.k + k;
    var v = vec4f(0.0);
    if (o < fp.m) {
      if (k < fp.k) { v.x = f_w[base]; }
      if (k + 1u < fp.k) { v.y = f_w[base + 1u]; }
      if (k + 2u < fp.k) { v.z = f_w[base + 2u]; }
      if (k + 3u < fp.k) { v.w = f_w[base + 3u]; }
    }
    s.a[j] = v;
  }
  let k = k0 + b_k_of(t);
  var tap = tap_of(k, fp.g.kernel_h, fp.g.kernel_w);
  let plane = fp.g.in_h * fp.g.in_w;
  for (var i = 0u; i < B_LOADS; i++) {
    let hi = col.hi0 + i32(tap.ky);
    let wi = col.wi0 + i32(tap.kx);
    var v = 0.0;
    if (col.inside && k + i < fp.k && hi >= 0 && hi < i32(fp.g.in_h) && wi >= 0 && wi < i32(fp.g.in_w)) {
      v = f_x[col.x_image + tap.ch * plane + u32(hi) * fp.g.in_w + u32(wi)];
    }
    s.b[i / 4u][i % 4u] = v;
    tap = next_tap(tap, fp.g.kernel_h, fp.g.kernel_w);
  }
  return s;
}

fn forward_gemm(t: u32, tx: u32, ty: u32, m0: u32, n0: u32) -> array<vec4f, TN> {
  let col = forward_column(n0 + b_col_of(t));
  var acc: array<vec4f, TN>;
  var s = forward_load(t, m0, 0u, col);
  for (var k0 = 0u; k0 < fp.k; k0 += TILE_K) {
    store_slices(s, t);
    workgroupBarrier();
    if (k0 + TILE_K < fp.k) { s = forward_load(t, m0, k0 + TILE_K, col); }
    multiply_slices(&acc, tx, ty);
    workgroupBarrier();
  }
  return acc;
}

@compute @workgroup_size(WG_X, WG_Y)
fn forward(@builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) t: u32,
           @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let m0 = wid.x * TILE_M;
  let n0 = n_tile(wid, nwg) * TILE_N;
  let acc = forward_gemm(t, lid.x, lid.y, m0, n0);
  let o0 = m0 + 4u * lid.y;
  var bias = vec4f(0.0);
  if (fp.has_bias != 0u) {
    for (var i = 0u; i < TM; i++) { bias[i] = f_bias[min(o0 + i, fp.m - 1u)]; }
  }
  let out_plane = fp.g.out_h * fp.g.out_w;
  for (var j = 0u; j < TN; j++) {
    let pixel = n0 + tile_col(lid.x, j);
    if (pixel >= fp.n) { continue; }
    let y_pixel = pixel / out_plane * fp.g.out_channels * out_plane + pixel % out_plane;
    var v = acc[j] + bias;
    if (fp.has_residual != 0u) {
      for (var i = 0u; i < TM; i++) {
        if (o0 + i < fp.m) { v[i] += f_residual[y_pixel + (o0 + i) * out_plane]; }
      }
    }
    v = activate4_flat(v, fp.slope, fp.sigmoid != 0u);
    for (var i = 0u; i < TM; i++) {
      if (o0 + i < fp.m) { f_y[y_pixel + (o0 + i) * out_plane] = v[i]; }
    }
  }
}

// ---- input_grad: dx = conv_transpose(dy, w), one stride phase per launch ---------------
// dx[n,c,h,w] = Σ w[o,c,ky,kx] · dy[n, o, (h+pH−ky)/sH, (w+pW−kx)/sW] over the taps
// where both divisions are exact. Exactness splits the work into sH·sW phases:
// the dx rows h with (h + pH) mod sH = ry take only the taps ky = ry + sH·iy,
// and likewise for columns. One launch handles one phase as a GEMM with only
// the taps that land (a single phase when the stride is 1):
// M = C, N = batch·hp·wp (its pixels h = h0 + sH·jh, w = w0 + sW·jw),
// K = O·kh·kw with k = (o·kh + iy)·kw + ix; A[c][k] = w[o, c, ry + sH·iy, rx + sW·ix],
// B[k][(n,jh,jw)] = dy[n, o, bh − iy, bw − ix] (0 outside dy), where
// bh = (h0 + pH − ry)/sH + jh and bw likewise. A phase without taps (K = 0)
// still writes its zeros.

@group(0) @binding(0) var<storage, read> d_dy: array<f32>;
@group(0) @binding(1) var<storage, read> d_w: array<f32>;
@group(0) @binding(2) var<storage, read_write> d_dx: array<f32>;
@group(0) @binding(3) var<uniform> dp: Params;

// The phase pixel a B column gathers for: its dy image, and its dy row and column at tap (0, 0) of the phase.
struct InputGradColumn { inside: bool, dy_image: u32, bh: i32, bw: i32 }

fn input_grad_column(pixel: u32) -> InputGradColumn {
  let plane = dp.phase_hp * dp.phase_wp;
  let n = min(pixel / plane, dp.g.batch - 1u);
  let r = pixel % plane;
  return InputGradColumn(
    pixel < dp.n,
    n * dp.g.out_channels * dp.g.out_h * dp.g.out_w,
    i32((dp.phase_h0 + dp.g.pad_h - dp.phase_ry) / dp.g.stride_h + r / dp.phase_wp),
    i32((dp.phase_w0 + dp.g.pad_w - dp.phase_rx) / dp.g.stride_w + r % dp.phase_wp),
  );
}

// Where phase pixel `pixel` (< N) of channel 0 sits in dx.
fn input_grad_dx_offset(pixel: u32) -> u32 {
  let plane = dp.phase_hp * dp.phase_wp;
  let r = pixel % plane;
  let h = dp.phase_h0 + dp.g.stride_h * (r / dp.phase_wp);
  let w = dp.phase_w0 + dp.g.stride_w * (r % dp.phase_wp);
  return pixel / plane * dp.g.in_channels * dp.g.in_h * dp.g.in_w + h * dp.g.in_w + w;
}

fn input_grad_load(t: u32, m0: u32, k0: u32, col: InputGradColumn) -> Slices {
  var s: Slices;
  let taps = dp.phase_kh * dp.phase_kw;
  for (var j = 0u; j < A_VEC4S; j++) {
    let c = m0 + a_row_of(t, j);
    let k = k0 + a_k_of(t, j);
    var v = vec4f(0.0);
    if (c < dp.m) {
      for (var l = 0u; l < 4u; l++) {
        let kl = k + l;
        if (kl < dp.k) {
          let tap = tap_of(kl, dp.phase_kh, dp.phase_kw);
          let ky = dp.phase_ry + dp.g.stride_h * tap.ky;
          let kx = dp.phase_rx + dp.g.stride_w * tap.kx;
          v[l] = d_w[((tap.ch * dp.g.in_channels + c) * dp.g.kernel_h + ky) * dp.g.kernel_w + kx];
        }
      }
    }
    s.a[j] = v;
  }
  let k = k0 + b_k_of(t);
  var tap = tap_of(k, dp.phase_kh, dp.phase_kw);
  let out_plane = dp.g.out_h * dp.g.out_w;
  for (var i = 0u; i < B_LOADS; i++) {
    let ho = col.bh - i32(tap.ky);
    let wo = col.bw - i32(tap.kx);
    var value = 0.0;
    if (col.inside && k + i < dp.k && ho >= 0 && ho < i32(dp.g.out_h) && wo >= 0 && wo < i32(dp.g.out_w)) {
      value = d_dy[col.dy_image + tap.ch * out_plane + u32(ho) * dp.g.out_w + u32(wo)];
    }
    s.b[i / 4u][i % 4u] = value;
    tap = next_tap(tap, dp.phase_kh, dp.phase_kw);
  }
  return s;
}

@compute @workgroup_size(WG_X, WG_Y)
fn input_grad(@builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) t: u32,
              @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let m0 = wid.x * TILE_M;
  let n0 = n_tile(wid, nwg) * TILE_N;
  let col = input_grad_column(n0 + b_col_of(t));
  var acc: array<vec4f, TN>;
  var s = input_grad_load(t, m0, 0u, col);
  for (var k0 = 0u; k0 < dp.k; k0 += TILE_K) {
    store_slices(s, t);
    workgroupBarrier();
    if (k0 + TILE_K < dp.k) { s = input_grad_load(t, m0, k0 + TILE_K, col); }
    multiply_slices(&acc, lid.x, lid.y);
    workgroupBarrier();
  }

  let plane = dp.g.in_h * dp.g.in_w;
  for (var j = 0u; j < TN; j++) {
    let pixel = n0 + tile_col(lid.x, j);
    if (pixel >= dp.n) { continue; }
    let dx_pixel = input_grad_dx_offset(pixel);
    for (var i = 0u; i < TM; i++) {
      let c = m0 + 4u * lid.y + i;
      if (c < dp.m) { d_dx[dx_pixel + c * plane] = acc[j][i]; }
    }
  }
}

// ---- weight_grad: partial sums of dw = Σ dy · x̂ over one split of K ------------------------
// k = (n·Ho + ho)·Wo + wo; col = (c·kH + ky)·kW + kx; A[o][k] = dy[n, o, ho, wo],
// B[k][col] = x[n, c, ho·sH + ky − pH, wo·sW + kx − pW]. Workgroup z is the
// split: it sums k in [z·chunk, (z+1)·chunk) and writes
// partial[z·partial_stride + o·N + col]; the workgroups of the first N tile
// (wid.y == 0) also sum their A rows, dy, into partial[z·partial_stride + O·N + o]
// for the bias gradient. sum_splits adds the splits.

@group(0) @binding(0) var<storage, read> g_dy: array<f32>;
@group(0) @binding(1) var<storage, read> g_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> g_partial: array<f32>;
@group(0) @binding(3) var<uniform> gp: Params;

// The weight a B column gathers for: its input channel's plane and its tap's offset from the output pixel.
struct WeightColumn { inside: bool, x_channel: u32, dky: i32, dkx: i32 }

fn weight_column(col: u32) -> WeightColumn {
  let tap = tap_of(min(col, gp.n - 1u), gp.g.kernel_h, gp.g.kernel_w);
  return WeightColumn(
    col < gp.n,
    tap.ch * gp.g.in_h * gp.g.in_w,
    i32(tap.ky) - i32(gp.g.pad_h),
    i32(tap.kx) - i32(gp.g.pad_w),
  );
}

fn weight_grad_load(t: u32, m0: u32, k0: u32, col: WeightColumn) -> Slices {
  var s: Slices;
  let out_plane = gp.g.out_h * gp.g.out_w;
  for (var j = 0u; j < A_VEC4S; j++) {
    let o = m0 + a_row_of(t, j);
    let k = k0 + a_k_of(t, j);
    var v = vec4f(0.0);
    if (o < gp.m) {
      for (var l = 0u; l < 4u; l++) {
        let kl = k + l;
        if (kl < gp.k) { v[l] = g_dy[(kl / out_plane * gp.g.out_channels + o) * out_plane + kl % out_plane]; }
      }
    }
    s.a[j] = v;
  }
  // (n, ho, wo) of this invocation's first k row, stepped along the row without divisions.
  let k = k0 + b_k_of(t);
  var n = k / out_plane;
  var ho = k % out_plane / gp.g.out_w;
  var wo = k % gp.g.out_w;
  let plane = gp.g.in_h * gp.g.in_w;
  for (var i = 0u; i < B_LOADS; i++) {
    let hi = i32(ho * gp.g.stride_h) + col.dky;
    let wi = i32(wo * gp.g.stride_w) + col.dkx;
    var v = 0.0;
    if (col.inside && k + i < gp.k && hi >= 0 && hi < i32(gp.g.in_h) && wi >= 0 && wi < i32(gp.g.in_w)) {
      v = g_x[n * gp.g.in_channels * plane + col.x_channel + u32(hi) * gp.g.in_w + u32(wi)];
    }
    s.b[i / 4u][i % 4u] = v;
    wo++;
    if (wo == gp.g.out_w) {
      wo = 0u;
      ho++;
      if (ho == gp.g.out_h) { ho = 0u; n++; }
    }
  }
  return s;
}

@compute @workgroup_size(WG_X, WG_Y)
fn weight_grad(@builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) t: u32,
               @builtin(workgroup_id) wid: vec3u) {
  let m0 = wid.x * TILE_M;
  let n0 = wid.y * TILE_N;
  let k_begin = wid.z * gp.chunk;
  let k_end = min(gp.k, k_begin + gp.chunk);
  let sums_bias = HAS_BIAS && wid.y == 0u && lid.x == 0u;
  let col = weight_column(n0 + b_col_of(t));
  var acc: array<vec4f, TN>;
  var bias_sum = vec4f(0.0);
  var s = weight_grad_load(t, m0, k_begin, col);
  for (var k0 = k_begin; k0 < k_end; k0 += TILE_K) {
    store_slices(s, t);
    workgroupBarrier();
    if (k0 + TILE_K < k_end) { s = weight_grad_load(t, m0, k0 + TILE_K, col); }
    multiply_slices(&acc, lid.x, lid.y);
    if (sums_bias) { bias_sum += a_row_sums(lid.y); }
    workgroupBarrier();
  }

  let out = wid.z * gp.partial_stride;
  for (var i = 0u; i < TM; i++) {
    let o = m0 + 4u * lid.y + i;
    if (o >= gp.m) { break; }
    for (var j = 0u; j < TN; j++) {
      let c = n0 + tile_col(lid.x, j);
      if (c < gp.n) { g_partial[out + o * gp.n + c] = acc[j][i]; }
    }
    if (sums_bias) { g_partial[out + gp.m * gp.n + o] = bias_sum[i]; }
  }
}

// ---- sum_splits: dw[i] = Σ_z partial[z·partial_stride + i] (then db) ------------------------

@group(0) @binding(0) var<storage, read> s_partial: array<f32>;
@group(0) @binding(1) var<storage, read_write> s_dw: array<f32>;
@group(0) @binding(2) var<storage, read_write> s_db: array<f32>;
@group(0) @binding(3) var<uniform> sp: Params;

@compute @workgroup_size(WG_X)
fn sum_splits(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(lid, wid, nwg);
  if (i >= sp.total) { return; }
  var total = 0.0;
  for (var z = 0u; z < sp.splits; z++) { total += s_partial[z * sp.partial_stride + i]; }
  if (i < sp.weights) { s_dw[i] = total; } else { s_db[i - sp.weights] = total; }
}
