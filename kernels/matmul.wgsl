// Batched matrix product C[b] = op(A[b]) · op(B[b]), op = optional transpose,
// with split-K. Two entry points: `matmul` reads one float at a time and takes
// any shape; `matmul_vec4` (below) needs multiples of 4 and is about twice as
// fast. The launcher picks (planMatmul in kernels/matmul.ts).
//
// Register blocking: each invocation owns a TM × (4·TN4) block of C and keeps
// it in vec4 accumulators, so every A value it loads feeds 4·TN4 FMAs and every
// B value TM of them. On CPU-emulated WebGPU (llvmpipe) this is what makes a
// matmul fast; workgroup-memory tiling is slower there because barriers are
// expensive and the "shared" memory is ordinary RAM.
//
// Edges: rows and columns past M or N are read from the last valid row/column
// (clamped indices) so the inner loop needs no bounds checks; their results
// are simply not written. K needs no padding: the loop runs to the exact end.
//
// Split-K: workgroup z indexes (split, batch). Split s sums k in
// [s·chunk, min(K, (s+1)·chunk)) and writes its partial product to slice
// s of the output buffer ([S, B, M, N]); `sum_splits` then adds the S slices.
// With S = 1 the first pass writes C directly.

override WG_X: u32 = 8;
override WG_Y: u32 = 8;
override WG_Z: u32 = 1;
// A is stored [K, M] (else [M, K]); B is stored [N, K] (else [K, N]).
override TRANS_A: bool = false;
override TRANS_B: bool = false;
// Rows, and column vec4s, of C per invocation; at most MAX_TM and MAX_TN4
// (TM a multiple of 4 for matmul_vec4).
override TM: u32 = 8;
override TN4: u32 = 2;

const MAX_TM = 8u;
const MAX_TN4 = 2u;

struct MatmulParams {
  m: u32,
  n: u32,
  k: u32,
  batch: u32,
  splits: u32,
  chunk: u32,          // k values per split, a multiple of 4
  batch_stride_a: u32, // 0 when A is one matrix shared by every batch entry
  batch_stride_b: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: MatmulParams;

@compute @workgroup_size(WG_X, WG_Y)
fn matmul(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let row0 = (wid.y * WG_Y + lid.y) * TM;
  let col0 = (wid.x * WG_X + lid.x) * TN4 * 4u;
  let batch = wid.z % p.batch;
  let split = wid.z / p.batch;
  if (row0 >= p.m || col0 >= p.n) { return; }

  // Element (row, k) of op(A) is a[row·a_row + k·a_k]; (k, col) of op(B) is b[k·b_k + col·b_col].
  let a_row = select(p.k, 1u, TRANS_A);
  let a_k = select(1u, p.m, TRANS_A);
  let b_col = select(1u, p.k, TRANS_B);
  let b_k = select(p.n, 1u, TRANS_B);

  var a_base: array<u32, MAX_TM>;
  for (var i = 0u; i < TM; i++) {
    a_base[i] = batch * p.batch_stride_a + min(row0 + i, p.m - 1u) * a_row;
  }
  var b_base: array<u32, MAX_TN4 * 4u>;
  for (var j = 0u; j < TN4 * 4u; j++) {
    b_base[j] = batch * p.batch_stride_b + min(col0 + j, p.n - 1u) * b_col;
  }

  var acc: array<vec4f, MAX_TM * MAX_TN4>;
  let k_begin = split * p.chunk;
  let k_end = min(p.k, k_begin + p.chunk);
  for (var kk = k_begin; kk < k_end; kk++) {
    let ak = kk * a_k;
    let bk = kk * b_k;
    var bv: array<vec4f, MAX_TN4>;
    for (var j = 0u; j < TN4; j++) {
      bv[j] = vec4f(b[b_base[4u * j] + bk], b[b_base[4u * j + 1u] + bk], b[b_base[4u * j + 2u] + bk], b[b_base[4u * j + 3u] + bk]);
    }
    for (var i = 0u; i < TM; i++) {
      let av = a[a_base[i] + ak];
      for (var j = 0u; j < TN4; j++) {
        acc[i * MAX_TN4 + j] = fma(vec4f(av), bv[j], acc[i * MAX_TN4 + j]);
      }
    }
  }

  let out_base = (split * p.batch + batch) * p.m * p.n;
  for (var i = 0u; i < TM; i++) {
    let row = row0 + i;
    if (row >= p.m) { break; }
    for (var j = 0u; j < TN4 * 4u; j++) {
      let col = col0 + j;
      if (col >= p.n) { break; }
      c[out_base + row * p.n + col] = acc[i * MAX_TN4 + j / 4u][j % 4u];
    }
  }
}

// ---- vec4 variant: every operand read 4 floats at a time ---------------------------
// For K % 4 == 0 and the other dimension an operand is contiguous along
// (M for a transposed A, N for an untransposed B) also % 4 == 0: each step
// takes 4 values of k, reads op(A) and op(B) as 4×4 blocks of 4 vec4 loads
// each, and multiplies blocks with mat4x4f products. A quarter of the load
// instructions of the scalar kernel, and on llvmpipe loads are what cost.
// A block is mat4x4f with column = k offset and row = C row (A), or column =
// C column and row = k offset (B); a block read along the other axis is
// transposed once loaded. Edge groups of 4 rows/columns are clamped like the
// scalar kernel's edges (M, N % 4 == 0 there, so a group is all in or all out).

@group(0) @binding(0) var<storage, read> a4: array<vec4f>;
@group(0) @binding(1) var<storage, read> b4: array<vec4f>;

@compute @workgroup_size(WG_X, WG_Y)
fn matmul_vec4(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let row0 = (wid.y * WG_Y + lid.y) * TM;
  let col0 = (wid.x * WG_X + lid.x) * TN4 * 4u;
  let batch = wid.z % p.batch;
  let split = wid.z / p.batch;
  if (row0 >= p.m || col0 >= p.n) { return; }
  let m4 = p.m / 4u;
  let n4 = p.n / 4u;
  let k4 = p.k / 4u;
  let a_batch = batch * (p.batch_stride_a / 4u);
  let b_batch = batch * (p.batch_stride_b / 4u);

  // The vec4 for load t of block g at step kv is a4[a_off[4g + t] + kv·a_step].
  var a_off: array<u32, MAX_TM>;
  for (var g = 0u; g < TM / 4u; g++) {
    for (var t = 0u; t < 4u; t++) {
      if (TRANS_A) {
        a_off[4u * g + t] = a_batch + t * m4 + min(row0 / 4u + g, m4 - 1u);
      } else {
        a_off[4u * g + t] = a_batch + min(row0 + 4u * g + t, p.m - 1u) * k4;
      }
    }
  }
  let a_step = select(1u, 4u * m4, TRANS_A);
  var b_off: array<u32, MAX_TN4 * 4u>;
  for (var h = 0u; h < TN4; h++) {
    for (var t = 0u; t < 4u; t++) {
      if (TRANS_B) {
        b_off[4u * h + t] = b_batch + min(col0 + 4u * h + t, p.n - 1u) * k4;
      } else {
        b_off[4u * h + t] = b_batch + t * n4 + min(col0 / 4u + h, n4 - 1u);
      }
    }
  }
  let b_step = select(4u * n4, 1u, TRANS_B);

  var acc: array<mat4x4f, MAX_TM / 4u * MAX_TN4>;
  let kv_begin = split * p.chunk / 4u;
  let kv_end = min(k4, kv_begin + p.chunk / 4u);
  for (var kv = kv_begin; kv < kv_end; kv++) {
    var a_blk: array<mat4x4f, MAX_TM / 4u>;
    for (var g = 0u; g < TM / 4u; g++) {
      let o = kv * a_step;
      let blk = mat4x4f(a4[a_off[4u * g] + o], a4[a_off[4u * g + 1u] + o], a4[a_off[4u * g + 2u] + o], a4[a_off[4u * g + 3u] + o]);
      if (TRANS_A) { a_blk[g] = blk; } else { a_blk[g] = transpose(blk); }
    }
    for (var h = 0u; h < TN4; h++) {
      let o = kv * b_step;
      let blk = mat4x4f(b4[b_off[4u * h] + o], b4[b_off[4u * h + 1u] + o], b4[b_off[4u * h + 2u] + o], b4[b_off[4u * h + 3u] + o]);
      var b_blk = blk;
      if (!TRANS_B) { b_blk = transpose(blk); }
      for (var g = 0u; g < TM / 4u; g++) {
        acc[g * MAX_TN4 + h] += a_blk[g] * b_blk;
      }
    }
  }

  let out_base = (split * p.batch + batch) * p.m * p.n;
  for (var i = 0u; i < TM; i++) {
    let row = row0 + i;
    if (row >= p.m) { break; }
    for (var j = 0u; j < TN4 * 4u; j++) {
      let col = col0 + j;
      if (col >= p.n) { break; }
      c[out_base + row * p.n + col] = acc[(i / 4u) * MAX_TN4 + j / 4u][j % 4u][i % 4u];
    }
  }
}

// ---- second split-K pass: out[i] = Σ_s partial[s·total + i] --------------------

struct SumParams {
  total: u32, // B·M·N
  splits: u32,
}

@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read_write> sum_out: array<f32>;
@group(0) @binding(2) var<uniform> sp: SumParams;

@compute @workgroup_size(WG_X)
fn sum_splits(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.x + wid.y * nwg.x) * WG_X + lid;
  if (i >= sp.total) { return; }
  var s = 0.0;
  for (var k = 0u; k < sp.splits; k++) { s += partial[k * sp.total + i]; }
  sum_out[i] = s;
}
