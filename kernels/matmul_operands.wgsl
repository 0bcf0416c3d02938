// The operands and parameters of a batched matmul, shared by matmul.wgsl and
// matmul_tiled.wgsl (prepended by wgsl()), whose launchers fill them alike.

// A is stored [K, M] (else [M, K]); B is stored [N, K] (else [K, N]).
override TRANS_A: bool = false;
override TRANS_B: bool = false;

struct MatmulParams {
  m: u32,
  n: u32,
  k: u32,
  batch: u32,
  splits: u32,
  chunk: u32,          // k values per split (matmul_vec4: a multiple of 4)
  batch_stride_a: u32, // 0 when A is one matrix shared by every batch entry
  batch_stride_b: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: MatmulParams;
