// Workgroup-memory GEMM tiles, shared by the tiled kernel families
// (conv2d_tiled.wgsl, matmul_tiled.wgsl; prepended by wgsl()). A family
// supplies its own loads (how A and B are gathered) and epilogue; the tile
// shapes come from kernels/gemm_tiles.ts.
//
// Tiling (the classic SGEMM scheme): a workgroup of WG_X × WG_Y invocations
// owns a TILE_M × TILE_N tile of C and walks K in slices of TILE_K. Per slice,
// every invocation gathers its share of the A slice (TILE_M × TILE_K) and the
// B slice (TILE_K × TILE_N) into registers, stores them to workgroup memory,
// and after a barrier multiplies the two slices into its own TM × TN block of
// C held in registers: rows 4·ty..4·ty+3, columns tx + WG_X·j (j < TN), so
// that each of the epilogue's stores is coalesced across tx. The next slice's
// global loads are issued before the multiply, so their latency hides behind
// it (register prefetch; one tile buffer, two barriers per slice).
//
// Workgroup memory holds both slices k-contiguous, as vec4s of 4 consecutive
// k: a_tile[m][k/4] and b_tile[col][k/4], so the multiply reads every operand
// 4 k at a time (3 vec4 reads per 32 FMAs), and every invocation writes whole
// vec4s (WGSL lets a write to one vector component touch the whole vector, so
// invocations must never share a vec4 they write). b_tile rows are padded to an
// odd number of vec4s: the 8 consecutive columns that a quarter-warp reads or
// writes at once then fall in 8 different 16-byte bank groups. a_tile needs no
// padding: the invocations of a quarter-warp read the same A row (a broadcast).
//
// Barriers: each slice is store → barrier → read (multiply) → barrier, and the
// next store comes after the second barrier. Every loop that contains a
// barrier runs on uniform values (parameters, workgroup ids), and no
// invocation returns early: invocations past the edge of C load zeros and take
// part in every barrier; only their stores are masked.
//
// Rows (A) and columns (B) of C per invocation; the multiply is written out for these.
const TM = 4u;
const TN = 8u;
// Register arrays for the prefetched slices: the plans need at most 1 vec4 of A and 4 of B.
const MAX_A_VEC4S = 2u;
const MAX_B_VEC4S = 4u;

// K per slice, a multiple of 4.
override TILE_K: u32 = 16u;

override TILE_M: u32 = TM * WG_Y;
override TILE_N: u32 = TN * WG_X;
override INVOCATIONS: u32 = WG_X * WG_Y;
// Row strides in vec4s (see above: b_tile's is odd).
override A_ROW: u32 = TILE_K / 4u;
override B_ROW: u32 = TILE_K / 4u + 1u;
override A_VEC4S: u32 = TILE_M * TILE_K / 4u / INVOCATIONS;
override B_LOADS: u32 = TILE_K * TILE_N / INVOCATIONS;

var<workgroup> a_tile: array<vec4f, TILE_M * A_ROW>;
var<workgroup> b_tile: array<vec4f, TILE_N * B_ROW>;

// The prefetched share of one A slice and one B slice; b holds B_LOADS
// consecutive k of one column, 4 per vec4.
struct Slices {
  a: array<vec4f, MAX_A_VEC4S>,
  b: array<vec4f, MAX_B_VEC4S>,
}

// Row and k (the first of 4) of the j-th A vec4 this invocation loads.
fn a_row_of(t: u32, j: u32) -> u32 { return (t + j * INVOCATIONS) / (TILE_K / 4u); }
fn a_k_of(t: u32, j: u32) -> u32 { return (t + j * INVOCATIONS) % (TILE_K / 4u) * 4u; }
// This invocation's B column, and the first of its B_LOADS consecutive k (a multiple of 4).
fn b_col_of(t: u32) -> u32 { return t % TILE_N; }
fn b_k_of(t: u32) -> u32 { return t / TILE_N * B_LOADS; }

fn store_slices(s: Slices, t: u32) {
  for (var j = 0u; j < A_VEC4S; j++) {
    a_tile[a_row_of(t, j) * A_ROW + a_k_of(t, j) / 4u] = s.a[j];
  }
  let b_at = b_col_of(t) * B_ROW + b_k_of(t) / 4u;
  for (var q = 0u; q < B_LOADS / 4u; q++) { b_tile[b_at + q] = s.b[q]; }
}

// acc[j] holds rows 4·ty..4·ty+3 of column tx + WG_X·j.
fn multiply_slices(acc: ptr<function, array<vec4f, TN>>, tx: u32, ty: u32) {
  let row = 4u * ty * A_ROW;
  for (var kq = 0u; kq < TILE_K / 4u; kq++) {
    let a0 = a_tile[row + kq];
    let a1 = a_tile[row + A_ROW + kq];
    let a2 = a_tile[row + 2u * A_ROW + kq];
    let a3 = a_tile[row + 3u * A_ROW + kq];
    var b: array<vec4f, TN>;
    for (var j = 0u; j < TN; j++) { b[j] = b_tile[(tx + j * WG_X) * B_ROW + kq]; }
    for (var kk = 0u; kk < 4u; kk++) {
      let a = vec4f(a0[kk], a1[kk], a2[kk], a3[kk]);
      for (var j = 0u; j < TN; j++) { (*acc)[j] = fma(a, vec4f(b[j][kk]), (*acc)[j]); }
    }
  }
}

// Row sums of this invocation's 4 rows of the A slice (weight_grad's bias gradient: Σ dy).
fn a_row_sums(ty: u32) -> vec4f {
  let row = 4u * ty * A_ROW;
  let ones = vec4f(1.0);
  var s = vec4f(0.0);
  for (var kq = 0u; kq < TILE_K / 4u; kq++) {
    s += vec4f(dot(a_tile[row + kq], ones), dot(a_tile[row + A_ROW + kq], ones),
               dot(a_tile[row + 2u * A_ROW + kq], ones), dot(a_tile[row + 3u * A_ROW + kq], ones));
  }
  return s;
}

// Column j of C for this invocation (j < TN), relative to the tile.
fn tile_col(tx: u32, j: u32) -> u32 { return tx + j * WG_X; }

// The N tile of a launch whose N tiles gemmGroups folded into y and z (above 65,535).
fn n_tile(wid: vec3u, nwg: vec3u) -> u32 { return wid.y + wid.z * nwg.y; }
