// The epilogue a kernel can fuse (conv forward): y = act(acc + bias + residual),
// chosen by override constants so that the unfused kernel pays nothing.
// ACT 0 none, 1 relu, 2 leaky relu with slope SLOPE, 3 sigmoid. The backward
// rule reads the fused output y only (engine/ops/conv.ts), which is why leaky
// relu fuses only for SLOPE ≥ 0: then y > 0 exactly where x > 0.
// HAS_RESIDUAL: add a tensor of the output's shape before the activation.
override ACT: u32 = 0u;
override SLOPE: f32 = 0.0;
override HAS_RESIDUAL: bool = false;

fn activate(v: f32) -> f32 {
  switch ACT {
    case 1u: { return max(v, 0.0); }
    case 2u: { return select(SLOPE * v, v, v > 0.0); }
    case 3u: { return 1.0 / (1.0 + exp(-v)); }
    default: { return v; }
  }
}

fn activate4(v: vec4f) -> vec4f {
  switch ACT {
    case 1u: { return max(v, vec4f(0.0)); }
    case 2u: { return select(SLOPE * v, v, v > vec4f(0.0)); }
    case 3u: { return 1.0 / (1.0 + exp(-v)); }
    default: { return v; }
  }
}

// Every activation as one branch-free expression of run-time values, for
// kernels too costly to compile once per epilogue: conv2d_vec4.wgsl (on
// llvmpipe each branch also costs compile time) and conv2d_tiled.wgsl's
// forward (one pipeline instead of seven for LMFN: 6.7 s → 1.3 s of a cold
// training step's compiling on lavapipe). `slope` is 1 for none and sigmoid,
// 0 for relu, the slope for leaky relu (see epilogueParams).
fn activate4_flat(v: vec4f, slope: f32, sigmoid: bool) -> vec4f {
  let leaky = select(slope * v, v, v > vec4f(0.0));
  return select(leaky, 1.0 / (1.0 + exp(-v)), vec4<bool>(sigmoid));
}
