// Batched matrix product C[b] = op(A[b]) · op(B[b]) on workgroup-memory tiles
// (gemm_tiles.wgsl, prepended with matmul_operands.wgsl): the matmul for GPUs (matmul.wgsl's register
// blocks without workgroup memory are what is fast on llvmpipe). Same
// operands, parameters and split-K output as matmul.wgsl, so matmul.ts
// launches either, and its sum_splits adds the slices.
//
// Grid: x the M tiles, y the N tiles, z = split·batch + b. Split s sums k in
// [s·chunk, min(K, (s+1)·chunk)) and writes slice s of the output ([S, B, M, N]).
// Loads are masked at M, N and the split's end; out-of-range invocations load
// zeros and take part in every barrier, and only their stores are masked.

// op(A)[row][k] and op(B)[k][col] of batch entry `batch`, for in-range indices.
fn a_at(batch: u32, row: u32, k: u32) -> f32 {
  return a[batch * p.batch_stride_a + select(row * p.k + k, k * p.m + row, TRANS_A)];
}
fn b_at(batch: u32, k: u32, col: u32) -> f32 {
  return b[batch * p.batch_stride_b + select(k * p.n + col, col * p.k + k, TRANS_B)];
}

fn matmul_load(t: u32, m0: u32, n0: u32, k0: u32, k_end: u32, batch: u32) -> Slices {
  var s: Slices;
  for (var j = 0u; j < A_VEC4S; j++) {
    let row = m0 + a_row_of(t, j);
    let k = k0 + a_k_of(t, j);
    var v = vec4f(0.0);
    if (row < p.m) {
      for (var l = 0u; l < 4u; l++) {
        if (k + l < k_end) { v[l] = a_at(batch, row, k + l); }
      }
    }
    s.a[j] = v;
  }
  let col = n0 + b_col_of(t);
  let k = k0 + b_k_of(t);
  for (var i = 0u; i < B_LOADS; i++) {
    var v = 0.0;
    if (col < p.n && k + i < k_end) { v = b_at(batch, k + i, col); }
    s.b[i / 4u][i % 4u] = v;
  }
  return s;
}

@compute @workgroup_size(WG_X, WG_Y)
fn matmul(@builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3u) {
  let m0 = wid.x * TILE_M;
  let n0 = wid.y * TILE_N;
  let batch = wid.z % p.batch;
  let split = wid.z / p.batch;
  let k_begin = split * p.chunk;
  let k_end = min(p.k, k_begin + p.chunk);
  var acc: array<vec4f, TN>;
  var s = matmul_load(t, m0, n0, k_begin, k_end, batch);
  for (var k0 = k_begin; k0 < k_end; k0 += TILE_K) {
    store_slices(s, t);
    workgroupBarrier();
    if (k0 + TILE_K < k_end) { s = matmul_load(t, m0, n0, k0 + TILE_K, k_end, batch); }
    multiply_slices(&acc, lid.x, lid.y);
    workgroupBarrier();
  }

  let out = (split * p.batch + batch) * p.m * p.n;
  for (var i = 0u; i < TM; i++) {
    let row = m0 + 4u * lid.y + i;
    if (row >= p.m) { break; }
    for (var j = 0u; j < TN; j++) {
      let col = n0 + tile_col(lid.x, j);
      if (col < p.n) { c[out + row * p.n + col] = acc[j][i]; }
    }
  }
}
