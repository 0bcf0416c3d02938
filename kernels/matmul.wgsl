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

// Rows, and column vec4s, of C per invocation: the scalar kernel at most
// MAX_TM and MAX_TN4; matmul_vec4 TM 4, 8, 12 or 16 and TN4 1 to 8.
override TM: u32 = 8;
override TN4: u32 = 2;

const MAX_TM = 8u;
const MAX_TN4 = 2u;

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
//
// Up to 4×8 blocks (a 16×32 tile of C) per invocation, in named mat4x4f
// accumulators behind `if` on the (specialised) tile size rather than an
// array indexed in a loop, which Mesa keeps in memory: a 16×32 tile loads
// 48 vec4 per 2,048 multiply-adds, 3/8 of the loads per product of 8×8
// (on llvmpipe 16×16 took 0.6× the time of 8×8 for 1024³, 16×32 another 0.85×).

@group(0) @binding(0) var<storage, read> a4: array<vec4f>;
@group(0) @binding(1) var<storage, read> b4: array<vec4f>;

// Block g (rows row0 + 4g..) of op(A) at k step kv.
fn a_block(a_batch: u32, row0: u32, g: u32, kv: u32) -> mat4x4f {
  let m4 = p.m / 4u;
  let k4 = p.k / 4u;
  if (TRANS_A) {
    let at = a_batch + 4u * kv * m4 + min(row0 / 4u + g, m4 - 1u);
    return mat4x4f(a4[at], a4[at + m4], a4[at + 2u * m4], a4[at + 3u * m4]);
  }
  let r = row0 + 4u * g;
  let last = p.m - 1u;
  return transpose(mat4x4f(
    a4[a_batch + min(r, last) * k4 + kv], a4[a_batch + min(r + 1u, last) * k4 + kv],
    a4[a_batch + min(r + 2u, last) * k4 + kv], a4[a_batch + min(r + 3u, last) * k4 + kv],
  ));
}

// Block h (columns col0 + 4h..) of op(B) at k step kv.
fn b_block(b_batch: u32, col0: u32, h: u32, kv: u32) -> mat4x4f {
  let n4 = p.n / 4u;
  let k4 = p.k / 4u;
  if (TRANS_B) {
    let c = col0 + 4u * h;
    let last = p.n - 1u;
    return mat4x4f(
      b4[b_batch + min(c, last) * k4 + kv], b4[b_batch + min(c + 1u, last) * k4 + kv],
      b4[b_batch + min(c + 2u, last) * k4 + kv], b4[b_batch + min(c + 3u, last) * k4 + kv],
    );
  }
  let at = b_batch + 4u * kv * n4 + min(col0 / 4u + h, n4 - 1u);
  return transpose(mat4x4f(b4[at], b4[at + n4], b4[at + 2u * n4], b4[at + 3u * n4]));
}

fn store_block(acc: mat4x4f, out_base: u32, row: u32, col: u32) {
  for (var i = 0u; i < 4u; i++) {
    if (row + i >= p.m) { return; }
    for (var j = 0u; j < 4u; j++) {
      if (col + j < p.n) { c[out_base + (row + i) * p.n + col + j] = acc[j][i]; }
    }
  }
}

// One block row: TN4 4×4 blocks (of C, or of op(B) at one k step). Named
// members, not an array: Mesa keeps an indexed array in memory and struct
// members in registers.
struct Row { m0: mat4x4f, m1: mat4x4f, m2: mat4x4f, m3: mat4x4f, m4: mat4x4f, m5: mat4x4f, m6: mat4x4f, m7: mat4x4f }

// op(B)'s blocks for columns col0.. at k step kv.
fn b_row(b_batch: u32, col0: u32, kv: u32) -> Row {
  var b: Row;
  b.m0 = b_block(b_batch, col0, 0u, kv);
  if (TN4 > 1u) { b.m1 = b_block(b_batch, col0, 1u, kv); }
  if (TN4 > 2u) { b.m2 = b_block(b_batch, col0, 2u, kv); }
  if (TN4 > 3u) { b.m3 = b_block(b_batch, col0, 3u, kv); }
  if (TN4 > 4u) { b.m4 = b_block(b_batch, col0, 4u, kv); }
  if (TN4 > 5u) { b.m5 = b_block(b_batch, col0, 5u, kv); }
  if (TN4 > 6u) { b.m6 = b_block(b_batch, col0, 6u, kv); }
  if (TN4 > 7u) { b.m7 = b_block(b_batch, col0, 7u, kv); }
  return b;
}

// acc += a · b, block by block.
fn mac_row(acc: ptr<function, Row>, a: mat4x4f, b: Row) {
  (*acc).m0 += a * b.m0;
  if (TN4 > 1u) { (*acc).m1 += a * b.m1; }
  if (TN4 > 2u) { (*acc).m2 += a * b.m2; }
  if (TN4 > 3u) { (*acc).m3 += a * b.m3; }
  if (TN4 > 4u) { (*acc).m4 += a * b.m4; }
  if (TN4 > 5u) { (*acc).m5 += a * b.m5; }
  if (TN4 > 6u) { (*acc).m6 += a * b.m6; }
  if (TN4 > 7u) { (*acc).m7 += a * b.m7; }
}

fn store_row(acc: Row, out_base: u32, row: u32, col0: u32) {
  store_block(acc.m0, out_base, row, col0);
  if (TN4 > 1u) { store_block(acc.m1, out_base, row, col0 + 4u); }
  if (TN4 > 2u) { store_block(acc.m2, out_base, row, col0 + 8u); }
  if (TN4 > 3u) { store_block(acc.m3, out_base, row, col0 + 12u); }
  if (TN4 > 4u) { store_block(acc.m4, out_base, row, col0 + 16u); }
  if (TN4 > 5u) { store_block(acc.m5, out_base, row, col0 + 20u); }
  if (TN4 > 6u) { store_block(acc.m6, out_base, row, col0 + 24u); }
  if (TN4 > 7u) { store_block(acc.m7, out_base, row, col0 + 28u); }
}

@compute @workgroup_size(WG_X, WG_Y)
fn matmul_vec4(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let row0 = (wid.y * WG_Y + lid.y) * TM;
  let col0 = (wid.x * WG_X + lid.x) * TN4 * 4u;
  let batch = wid.z % p.batch;
  let split = wid.z / p.batch;
  if (row0 >= p.m || col0 >= p.n) { return; }
  let a_batch = batch * (p.batch_stride_a / 4u);
  let b_batch = batch * (p.batch_stride_b / 4u);
  let rows = TM / 4u;

  // Block rows of C: rows row0.., row0 + 4.., row0 + 8.., row0 + 12.. (the first `rows` of them live).
  var c0: Row; var c1: Row; var c2: Row; var c3: Row;
  let kv_begin = split * p.chunk / 4u;
  let kv_end = min(p.k / 4u, kv_begin + p.chunk / 4u);
  for (var kv = kv_begin; kv < kv_end; kv++) {
    let b = b_row(b_batch, col0, kv);
    mac_row(&c0, a_block(a_batch, row0, 0u, kv), b);
    if (rows > 1u) { mac_row(&c1, a_block(a_batch, row0, 1u, kv), b); }
    if (rows > 2u) { mac_row(&c2, a_block(a_batch, row0, 2u, kv), b); }
    if (rows > 3u) { mac_row(&c3, a_block(a_batch, row0, 3u, kv), b); }
  }

  let out_base = (split * p.batch + batch) * p.m * p.n;
  store_row(c0, out_base, row0, col0);
  if (rows > 1u) { store_row(c1, out_base, row0 + 4u, col0); }
  if (rows > 2u) { store_row(c2, out_base, row0 + 8u, col0); }
  if (rows > 3u) { store_row(c3, out_base, row0 + 12u, col0); }
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
